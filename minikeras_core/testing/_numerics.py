"""Numerics shared by the checks: central finite differences, comparisons, and what messages say of arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._base import Mismatch

#: Central differences in float64 with this step; truncation error ~h^2, rounding ~1e-16/h.
FD_STEP = 1e-6
FD_RTOL = 1e-4
FD_ATOL = 1e-6
#: At most this many entries of an array are probed by finite differences (chosen at random).
FD_MAX_ENTRIES = 24


def probe_indices(shape: tuple, rng: np.random.Generator, limit: int = FD_MAX_ENTRIES) -> list[tuple]:
    """Up to ``limit`` multi-indices of an array of ``shape``, all of them when it is small."""
    size = int(np.prod(shape))
    flat = np.arange(size) if size <= limit else np.sort(rng.choice(size, limit, replace=False))
    return [tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat]


def finite_difference(f: Callable[[], float], array: np.ndarray, index: tuple, h: float = FD_STEP) -> float:
    """``(f(a + h e_i) - f(a - h e_i)) / 2h``, perturbing ``array[index]`` in place and restoring it.

    ``f`` must read ``array`` through a copy when the plugin might write into its input, so that
    such a plugin fails only the check named for that (``*_does_not_modify_input``).
    """
    original = array[index]
    try:
        array[index] = original + h
        plus = f()
        array[index] = original - h
        minus = f()
    finally:
        array[index] = original
    return (plus - minus) / (2 * h)


def compare_gradients(what: str, analytic: dict[tuple, float], numeric: dict[tuple, float]) -> None:
    """Raise :class:`Mismatch` naming the worst entry where ``analytic`` and ``numeric`` disagree."""
    a = np.array([analytic[i] for i in numeric], dtype=np.float64)
    n = np.array([numeric[i] for i in numeric], dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise Mismatch(f"finite {what}", f"non-finite values {a[~np.isfinite(a)][:3]}")
    bad = ~np.isclose(a, n, rtol=FD_RTOL, atol=FD_ATOL)
    if np.any(bad):
        keys = list(numeric)
        worst = int(np.argmax(np.abs(a - n) * bad))
        raise Mismatch(
            f"{what} to match central finite differences (rtol={FD_RTOL}, atol={FD_ATOL})",
            f"{int(bad.sum())} of {len(keys)} probed entries differ; at {keys[worst]} the plugin gives "
            f"{a[worst]:.6g}, finite differences {n[worst]:.6g}",
        )


def arrays_close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-10, atol: float = 1e-12) -> bool:
    """Same shape and values within a tight tolerance (both float64 computations of the same thing)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def max_difference(a: Any, b: Any) -> str:
    """A short description of how far apart two arrays are, for messages."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"shapes {a.shape} and {b.shape}"
    with np.errstate(invalid="ignore"):
        return f"a largest difference of {np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))):.3g}" if a.size else "empty arrays"


def dtype_name(value: Any) -> str:
    return np.asarray(value).dtype.name if not hasattr(value, "dtype") else value.dtype.name
