"""Attack tests: each performs an attack found on review and asserts it failed."""
import sys
from pathlib import Path

# the shared helpers (tiny quest, fake clock, cheap hasher) live one folder up
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
