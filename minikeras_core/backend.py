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
