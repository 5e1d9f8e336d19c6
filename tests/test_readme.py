"""The README's function table is the registry's; its registry loop runs."""

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


def test_readme_examples_run_in_order():
    """Every Python block of the README, in order, in one namespace, as a reader would
    paste them (the GPU block needs CuPy and a GPU: left out)."""
    import numpy as np

    import fastact

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert any("for act in fastact.REGISTRY.values()" in b for b in blocks)
    namespace = {"np": np, "fastact": fastact}
    for block in blocks:
        if "import cupy" not in block:
            exec(block, namespace)
