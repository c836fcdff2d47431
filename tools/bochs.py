#!/usr/bin/env python3
"""Print the bochsrc hvtools.bochs.launch() would write, or a free port
(the Bochs launcher itself is tools/hvtools/bochs.py; the CLI that boots an
ISO is tools/launch-bochs)."""
import sys

from hvtools.bochs import main

if __name__ == "__main__":
    sys.exit(main())
