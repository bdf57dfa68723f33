"""``python -m ddp``: the same as the ``ddp`` command."""

import sys

from ddp.cli import main

sys.exit(main())
