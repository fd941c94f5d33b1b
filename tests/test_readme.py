"""The README's Python examples run as printed (quick start, the original example, the Keras workflow)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"^## ([^\n]+)\n(?:(?!^## ).)*?```python\n(.*?)```", README, flags=re.S | re.M)


def test_the_readme_has_its_examples():
    assert [title for title, _ in BLOCKS][:4] == ["Quick start", "Sequences and normalization", "The original example",
                                                  "The Keras workflow: validation, callbacks, metrics, saving"]


@pytest.mark.parametrize("title, code", BLOCKS, ids=[title for title, _ in BLOCKS])
def test_readme_example_runs(title, code, tmp_path):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, f"README section {title!r} failed:\n{done.stderr[-3000:]}"
