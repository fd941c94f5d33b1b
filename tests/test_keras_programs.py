"""The Keras-style programs in ``examples/keras/`` run end to end through ``import minikeras_core as keras``, and learn."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent.parent / "examples" / "keras"

#: What each program must print, and the least figure that shows it learned (a program that runs but learns nothing fails).
EXPECTED = {
    "mlp_digits.py": (r"Test accuracy: ([0-9.]+)", lambda v: v > 0.9),
    "convnet_digits.py": (r"Test accuracy: ([0-9.]+)", lambda v: v > 0.85),
    "regression.py": (r"Test mean absolute error: ([0-9.]+)", lambda v: v < 0.6),
    "sequence_rnn.py": (r"validation accuracy: ([0-9.]+)", lambda v: v > 0.8),
    "save_and_load.py": (r"Restored model, accuracy: *([0-9.]+)%", lambda v: v > 85),
    "by_class_and_by_string.py": (r"sequential accuracy: ([0-9.]+)", lambda v: v > 0.8),
}


def test_every_program_is_listed():
    assert sorted(p.name for p in PROGRAMS.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_program_runs_and_learns(name, tmp_path):
    source = (PROGRAMS / name).read_text()
    imports = [line for line in source.splitlines() if re.match(r"\s*(import|from) ", line)]
    assert not any(re.search(r"\bkeras\b", line) and "minikeras_core" not in line for line in imports)  # only minikeras_core stands for keras
    done = subprocess.run([sys.executable, str(PROGRAMS / name)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    pattern, good = EXPECTED[name]
    found = re.findall(pattern, done.stdout)
    assert found, f"{name} printed no line matching {pattern!r}:\n{done.stdout[-2000:]}"
    assert all(good(float(value)) for value in found), f"{name}: {found}"
