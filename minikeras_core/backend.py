"""Global settings as Keras's ``keras.backend`` / ``keras.config`` read them: the default float type and the image layout."""

from __future__ import annotations

import numpy as np

_FLOATX = "float32"
_ALLOWED = ("float32", "float64")


def floatx() -> str:
    """Return the default dtype name for new models and layers (``"float32"`` unless changed)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default dtype for models and layers created afterwards: ``"float32"`` or ``"float64"``."""
    global _FLOATX
    _FLOATX = standardize_dtype(value).name


def standardize_dtype(dtype) -> np.dtype:
    """Turn ``None`` (the default), a name or a numpy dtype into a supported numpy dtype."""
    if dtype is None:
        return np.dtype(_FLOATX)
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype: got {dtype!r}, expected one of {_ALLOWED}") from err
    if resolved.name not in _ALLOWED:
        raise ValueError(f"dtype: got {resolved.name!r}, expected one of {_ALLOWED}")
    return resolved


def image_data_format() -> str:
    """Always ``"channels_last"``: images are ``(n, height, width, channels)``."""
    return "channels_last"


def epsilon() -> float:
    """Keras's fuzz factor, ``1e-7`` (the clipping constant of the cross-entropies)."""
    return 1e-7


_SEEDS: np.random.Generator | None = None  # set by set_random_seed: where models without a seed take theirs


def set_random_seed(seed: int) -> None:
    """Make a program reproducible, as Keras's ``keras.utils.set_random_seed``: seeds Python's and numpy's
    global generators, and every model made afterwards without ``seed=`` takes its seed from this one."""
    global _SEEDS
    import random

    random.seed(seed)
    np.random.seed(seed)
    _SEEDS = np.random.default_rng(seed)


def default_seed(seed: int | None) -> int | None:
    """``seed``, or, when it is ``None`` after ``set_random_seed``, the next seed from that sequence."""
    if seed is None and _SEEDS is not None:
        return int(_SEEDS.integers(2**32))
    return seed
