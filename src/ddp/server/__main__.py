"""``python -m ddp.server``: the same as ``ddp serve`` (the demo server by default)."""

import sys

from ddp.cli.main import main

sys.exit(main(["serve", *sys.argv[1:]], prog_name="python -m ddp.server"))
