"""Shared fixtures: a registry view of fake installed distributions, finite differences, and threads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core.engine import threads
from minikeras_core.registry import REGISTRY


@pytest.fixture
def fake_dists(tmp_path, monkeypatch):
    """Return ``install(dist, version, groups, modules)`` that fakes an installed distribution on sys.path.

    ``groups`` maps an entry-point group to ``{name: "module:attr"}``; ``modules`` maps a module
    name to its source. The registry's cache is refreshed before and after the test.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    REGISTRY.refresh()

    def install(dist: str, version: str, groups: dict, modules: dict | None = None, folder: str | None = None) -> Path:
        info = tmp_path / (folder or f"{dist.replace('-', '_')}-{version}.dist-info")
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = []
        for group, entries in groups.items():
            lines.append(f"[{group}]")
            lines.extend(f"{name} = {target}" for name, target in entries.items())
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in (modules or {}).items():
            (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        REGISTRY.refresh()
        return info

    yield install
    REGISTRY.refresh()


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar function ``f`` at ``x`` (float64), entry by entry."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    out = grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.fixture
def threads_possible() -> bool:
    """Whether parts of a batch can run on threads here: two cores or more, and threadpoolctl to limit BLAS."""
    return threads.threads_possible()


@pytest.fixture
def need_threads() -> None:
    """Skip (not pass) a test that means nothing where parts cannot run on threads."""
    if not threads.threads_possible():
        pytest.skip("parts of a batch cannot run on threads here (one core, or no threadpoolctl to limit BLAS)")


@pytest.fixture
def use_parts(monkeypatch):
    """Return ``set(threads)``: any model cuts its batches into parts on threads (True) or never does (False)."""

    def set_parts(threads: bool) -> None:
        monkeypatch.setattr("minikeras_core.engine.parallel.MIN_VALUES_PER_PART", 1 if threads else 1 << 62)

    return set_parts


@pytest.fixture
def small_parts(use_parts):
    """Let even tiny models use threads (normally only models with large activations do)."""
    use_parts(True)


@pytest.fixture
def small_cnn():
    """Return ``build(dtype="float32", seed=0)``: a small CNN (Conv2D, MaxPool2D, Conv2D, Flatten, Dense) on 10x10x1 images."""

    def build(dtype: str = "float32", seed: int = 0) -> mk.Sequential:
        model = mk.Sequential(seed=seed, dtype=dtype)
        model.add("conv2d", ksize=3, activation="relu", filters=4, input_size=(10, 10, 1))
        model.add("maxpool2d", ksize=2)
        model.add("conv2d", ksize=2, activation="tanh", filters=8)
        model.add("flatten")
        model.add("dense", units=5, activation="softmax")
        return model

    return build
