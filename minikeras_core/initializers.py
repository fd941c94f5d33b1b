"""Weight initialisers with Keras 3's formulas.

Fans follow ``keras.initializers``: for a kernel of shape ``(..., fan_in, fan_out)`` the leading axes
form the receptive field, so a Conv2D kernel ``(kh, kw, c_in, c_out)`` has
``fan_in = kh * kw * c_in`` and ``fan_out = kh * kw * c_out``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[tuple, np.random.Generator, np.dtype], np.ndarray]


def compute_fans(shape: tuple) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for a weight shape, as Keras computes them."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(shape: tuple, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """Uniform on ``[-limit, limit]`` with ``limit = sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = compute_fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: tuple, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """Truncated normal (cut at two standard deviations) with ``stddev = sqrt(2 / fan_in)``."""
    fan_in, _ = compute_fans(shape)
    stddev = np.sqrt(2.0 / fan_in) / 0.87962566103423978  # Keras's correction for the truncation
    values = rng.standard_normal(size=shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (values * stddev).astype(dtype)


def orthogonal(shape: tuple, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """An orthogonal matrix (gain 1): the Q of a QR decomposition of a normal matrix, signs fixed by R's diagonal."""
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    cols = int(shape[-1])
    flat = rng.standard_normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape).astype(dtype)


def zeros(shape: tuple, rng: np.random.Generator | None = None, dtype=np.float32) -> np.ndarray:
    """All zeros."""
    return np.zeros(shape, dtype=dtype)


def ones(shape: tuple, rng: np.random.Generator | None = None, dtype=np.float32) -> np.ndarray:
    """All ones."""
    return np.ones(shape, dtype=dtype)


_BY_NAME: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
    "orthogonal": orthogonal,
    "zeros": zeros,
    "ones": ones,
}


def get_initializer(identifier: str | Initializer) -> Initializer:
    """Return the initialiser named ``identifier`` (or ``identifier`` itself when it is callable)."""
    if callable(identifier):
        return identifier
    try:
        return _BY_NAME[str(identifier).lower()]
    except KeyError:
        raise ValueError(
            f"initializer: got {identifier!r}, expected one of {sorted(_BY_NAME)} or a callable"
        ) from None
