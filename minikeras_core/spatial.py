"""Geometry of 2-D sliding-window layers (Conv2D, MaxPool2D, and any a plugin adds): arguments, padding, windows.

Shared by every such layer so that padding and window rules (Keras's "valid"/"same") are written
once. Images are ``(n, height, width, channels)``. Output ``(y, x)`` sees the window
``Xp[y*sh : y*sh + kh, x*sw : x*sw + kw]`` of the padded input ``Xp``; seen the other way, kernel
offset ``(i, j)`` meets the strided grid ``Xp[i::sh, j::sw]`` (``offset_slice``), one input per
output. Layers loop over the ``kh * kw`` offsets (``offsets``) rather than over pixels. Patch
matrices (im2col) are in the sibling module ``patches``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided


def as_pair(value: Any, argument: str, owner: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(2, 3)`` stays; anything but positive ints is a ``ValueError``."""
    items = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) != 2 or not all(_is_int(v) and v > 0 for v in items):
        raise ValueError(f"{owner}: {argument} must be a positive int or a (height, width) pair of them, got {value!r}")
    return int(items[0]), int(items[1])


def as_padding(value: Any, owner: str) -> str | tuple[int, int]:
    """``"valid"`` / ``"same"`` (any case), or zeros per side: an int ``p`` or a ``(ph, pw)`` pair."""
    if isinstance(value, str):
        mode = value.lower()
        if mode in ("valid", "same"):
            return mode
    else:
        items = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
        if len(items) == 2 and all(_is_int(v) and v >= 0 for v in items):
            return int(items[0]), int(items[1])
    raise ValueError(
        f"{owner}: padding must be 'valid', 'same', a non-negative int or a (height, width) pair of them, got {value!r}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def geometry(size: int, k: int, s: int, padding: str | int) -> tuple[int, int, int]:
    """Return ``(pad_before, pad_after, out)`` along one axis, as Keras (``"valid"``/``"same"``) or with ``p`` zeros a side.

    ``"same"``: ``out = ceil(size / s)`` and the total padding ``max((out - 1) s + k - size, 0)``
    is split with the odd one at the end (bottom/right), as TensorFlow and Keras do.
    """
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return total // 2, total - total // 2, out
    before = 0 if padding == "valid" else int(padding)
    return before, before, (size + 2 * before - k) // s + 1


def plan(owner: str, input_shape: tuple, k: tuple, s: tuple, padding) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """Check an image input shape and return ``((top, bottom, left, right), (out_h, out_w))``."""
    if len(input_shape) != 3:
        raise ValueError(
            f"{owner}: expects images of shape (height, width, channels) per sample, got input shape {input_shape}"
        )
    height, width, _ = input_shape
    mode = padding if isinstance(padding, str) else None
    top, bottom, out_h = geometry(height, k[0], s[0], mode or padding[0])
    left, right, out_w = geometry(width, k[1], s[1], mode or padding[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"{owner}: a {k[0]}x{k[1]} window with padding {padding!r} does not fit an input of "
            f"{height}x{width}; expected an input at least as large as the window"
        )
    return (top, bottom, left, right), (out_h, out_w)


def pad(X: np.ndarray, pads: tuple[int, int, int, int], fill: float = 0.0) -> np.ndarray:
    """``X`` with ``fill`` around height and width (``X`` itself when there is nothing to add)."""
    top, _, left, _ = pads
    if not any(pads):
        return X
    out = np.full(padded_shape(X.shape, pads), fill, dtype=X.dtype)
    out[:, top : top + X.shape[1], left : left + X.shape[2], :] = X
    return out


def padded_shape(shape: tuple, pads: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The shape of ``pad(X, pads)`` for ``X`` of shape ``(n, height, width, channels)``."""
    n, h, w, c = shape
    top, bottom, left, right = pads
    return n, h + top + bottom, w + left + right, c


def crop(Xp: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    """Undo ``pad``."""
    top, bottom, left, right = pads
    if not any(pads):
        return Xp
    return Xp[:, top : Xp.shape[1] - bottom, left : Xp.shape[2] - right, :]


def windows(Xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """A read-only view ``(n, out_h, out_w, kh, kw, c)`` of every window of ``Xp``; no copy.

    The window axes come before the channels so that, once copied, a patch is laid out as a
    Keras kernel ``(kh, kw, c, filters)`` flattened over its first three axes.
    """
    sn, sh, sw, sc = Xp.strides
    shape = (Xp.shape[0], out[0], out[1], k[0], k[1], Xp.shape[3])
    strides = (sn, sh * s[0], sw * s[1], sh, sw, sc)
    return as_strided(Xp, shape=shape, strides=strides, writeable=False)


def offset_slice(i: int, j: int, s: tuple[int, int], out: tuple[int, int]) -> tuple:
    """The index of the inputs that kernel offset ``(i, j)`` meets, over every output position."""
    return (
        slice(None),
        slice(i, i + s[0] * (out[0] - 1) + 1, s[0]),
        slice(j, j + s[1] * (out[1] - 1) + 1, s[1]),
        slice(None),
    )


def offsets(k: tuple[int, int], s: tuple[int, int], out: tuple[int, int]) -> Iterator[tuple[int, int, tuple]]:
    """Yield ``(i, j, offset_slice(i, j, s, out))`` for every kernel offset, in row-major order."""
    for i in range(k[0]):
        for j in range(k[1]):
            yield i, j, offset_slice(i, j, s, out)
