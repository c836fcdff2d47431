#!/usr/bin/env python3
"""hvconsole: print the hypervisor console's output and send it stdin lines
(the client is hvtools.console.Console; see tools/README.md)."""
import sys

from hvtools.console import main

if __name__ == "__main__":
    sys.exit(main())
