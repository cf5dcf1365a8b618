"""`python -m harness.diff`: the command line (harness/diff/cli.py)."""

import sys

from harness.diff.cli import main

sys.exit(main())
