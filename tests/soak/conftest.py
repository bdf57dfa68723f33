"""The soak test's path setup (its marker, ``soak``, is registered in pyproject.toml).

``soak`` marks the long randomized run: ``scripts/test`` deselects it (``-m "not soak"``)
and CI runs it once on its own. ``DDP_SOAK_SECONDS`` sets its length (default 60).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The two-client face lives with the hostile suite (each test directory goes on sys.path
# the same way under pytest's rootdir "prepend" import mode).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hostile"))
