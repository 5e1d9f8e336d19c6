"""The README's function table is the registry's."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from readme_table import table  # noqa: E402


def test_readme_table_matches_registry():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- registry-table -->\n(.*?)\n<!-- /registry-table -->", text, re.S)
    assert m, "README lost its registry-table markers"
    assert m.group(1) == table(), "run: python tools/readme_table.py --write"
