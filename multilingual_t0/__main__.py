"""python -m multilingual_t0 -> the `mt0` command line."""

import sys

from multilingual_t0.cli import main

sys.exit(main())
