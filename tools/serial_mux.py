#!/usr/bin/env python3
"""serial_mux: share one serial console connection among several clients
(hvtools.mux.SerialMux; `--help` says how)."""
import sys

from hvtools.mux import main

if __name__ == "__main__":
    sys.exit(main())
