"""`python -m ops.smoke` (see ops/smoke/__init__.py)."""

import sys

from ops.smoke.cli import main

sys.exit(main())
