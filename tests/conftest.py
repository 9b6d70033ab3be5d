import os
import sys
from pathlib import Path

# Shared test helpers (widget_driver) live in tests/; the layer folders below import them by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("MPLBACKEND", "Agg")

import course_utils  # noqa: E402,F401  (enables float64 before any test builds arrays)
