#!/usr/bin/env python3
"""netrelay: the UDP wire between two emulated NICs (hvtools.relay.Relay;
`--help` says how)."""
from hvtools.relay import main

if __name__ == "__main__":
    main()
