"""``python -m ddp.server``: the same as ``ddp serve`` (the demo server by default)."""

import sys

from ddp.cli.main import main
from ddp.cli.serve import serve

sys.exit(main(prog_name="python -m ddp.server", command=serve))
