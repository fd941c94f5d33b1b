"""Geometry of sliding-window layers (Conv1D/2D, pooling, and any a plugin adds): arguments, padding, windows.

Shared by every such layer so that padding and window rules (Keras's "valid"/"same"/"causal")
are written once. ``plan`` works on any number of spatial axes; the rest on images
``(n, height, width, channels)``, and a 1-D layer runs on its sequences ``(n, steps, channels)``
as images of height 1 (``X[:, None]``, a view).

Output ``(y, x)`` sees the window ``Xp[y*sh + i*dh, x*sw + j*dw]`` for ``i < kh, j < kw`` of the
padded input ``Xp`` (``d`` the dilation, 1 for pooling); seen the other way, kernel offset
``(i, j)`` meets the strided grid ``Xp[i*dh::sh, j*dw::sw]`` (``offset_slice``), one input per
output. Layers loop over the ``kh * kw`` offsets (``offsets``) rather than over pixels. Patch
matrices (im2col) are in the sibling module ``patches``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: What one sample of a layer with this many spatial axes is, for error messages.
_SAMPLE = {1: "sequences of shape (steps, channels)", 2: "images of shape (height, width, channels)"}


def as_tuple(value: Any, rank: int, argument: str, owner: str) -> tuple[int, ...]:
    """``3`` -> ``(3,) * rank``; a sequence of ``rank`` positive ints stays; anything else is a ``ValueError``."""
    items = (value,) * rank if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) != rank or not all(_is_int(v) and v > 0 for v in items):
        expected = "(height, width) pair" if rank == 2 else f"tuple of {rank}"
        raise ValueError(f"{owner}: {argument} must be a positive int or a {expected} of them, got {value!r}")
    return tuple(int(v) for v in items)


def as_pair(value: Any, argument: str, owner: str) -> tuple[int, int]:
    """``as_tuple`` of two: ``3`` -> ``(3, 3)``; ``(2, 3)`` stays."""
    return as_tuple(value, 2, argument, owner)


def as_padding(value: Any, owner: str, rank: int = 2, modes: tuple = ("valid", "same"), zeros: bool = True) -> str | tuple:
    """One of ``modes`` (any case), or with ``zeros`` that many zeros on every side: an int or a tuple of ``rank``."""
    if isinstance(value, str):
        if value.lower() in modes:
            return value.lower()
    elif zeros:
        items = (value,) * rank if not isinstance(value, (tuple, list)) else tuple(value)
        if len(items) == rank and all(_is_int(v) and v >= 0 for v in items):
            return tuple(int(v) for v in items)
    expected = " or ".join(repr(m) for m in modes)
    if zeros:
        expected += f", a non-negative int or a {'(height, width) pair' if rank == 2 else f'tuple of {rank}'} of them"
    raise ValueError(f"{owner}: padding must be {expected}, got {value!r}")


def channels_last(data_format: Any, owner: str) -> str:
    """Keras's ``data_format``: ``None`` (Keras's default) or ``"channels_last"``; channels come last here."""
    if data_format is None or (isinstance(data_format, str) and data_format.lower() == "channels_last"):
        return "channels_last"
    raise ValueError(f"{owner}: data_format must be 'channels_last' or None (channels come last), got {data_format!r}")


def original_form(owner: str, args: tuple, kwargs: dict, keywords: dict[str, str], forms: str) -> bool:
    """Whether a constructor call is in the original Mini-Keras form: it names one of ``keywords``.

    ``keywords`` maps each keyword of the original form (``ksize``, ``stride``) to Keras's name
    for the same thing (``kernel_size``, ``strides``). A call naming an original keyword with
    positional arguments (which Keras's order would read) or with a Keras name of the map is
    read neither way: a ``TypeError`` naming what it mixed and both forms (``forms``).
    """
    original = [f"{k}=" for k in keywords if k in kwargs]
    if not original:
        return False
    keras = [f"{k}=" for k in keywords.values() if k in kwargs]
    if args or keras:
        mixed = f"positional arguments {', '.join(map(repr, args))}" if args else f"Keras's {', '.join(keras)}"
        raise TypeError(f"{owner}: a call with the original form's {', '.join(original)} and {mixed} could be read "
                        f"either way; expected one form: {forms}")
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def geometry(size: int, k: int, s: int, padding: str | int, d: int = 1) -> tuple[int, int, int]:
    """Return ``(pad_before, pad_after, out)`` along one axis for a window of ``k`` cells ``d`` apart.

    The window spans ``(k - 1) d + 1`` inputs. ``"same"``: ``out = ceil(size / s)`` and the
    total padding ``max((out - 1) s + span - size, 0)`` is split with the odd one at the end
    (bottom/right), as TensorFlow and Keras do; ``"causal"`` puts ``span - 1`` zeros before and
    none after (Keras's Conv1D); an int ``p`` puts ``p`` zeros on each side; ``"valid"`` none.
    """
    span = (k - 1) * d + 1
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + span - size, 0)
        return total // 2, total - total // 2, out
    if padding == "causal":
        return span - 1, 0, -(-size // s)
    before = 0 if padding == "valid" else int(padding)
    return before, before, (size + 2 * before - span) // s + 1


def plan(owner: str, input_shape: tuple, k: tuple, s: tuple, padding: Any,
         dilation: tuple | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Check a sample's shape (spatial axes, then channels) and return ``((before, after) per axis, out per axis)``.

    Images: ``((top, bottom, left, right), (out_h, out_w))``; sequences: ``((before, after), (out,))``.
    """
    rank = len(k)
    if len(input_shape) != rank + 1:
        raise ValueError(f"{owner}: expects {_SAMPLE.get(rank, f'{rank} spatial axes and channels')} per sample, "
                         f"got input shape {input_shape}")
    d = dilation or (1,) * rank
    axes = [geometry(input_shape[a], k[a], s[a], padding if isinstance(padding, str) else padding[a], d[a]) for a in range(rank)]
    out = tuple(o for _, _, o in axes)
    if min(out) < 1:
        dilated = f" dilated by {'x'.join(map(str, d))}" if max(d) > 1 else ""
        raise ValueError(
            f"{owner}: a {'x'.join(map(str, k))} window{dilated} with padding {padding!r} does not fit an input of "
            f"{'x'.join(map(str, input_shape[:rank]))}; expected an input at least as large as the window"
        )
    return tuple(p for before, after, _ in axes for p in (before, after)), out


def cells_inside(size: int, k: int, s: int, before: int, out: int) -> np.ndarray:
    """How many of each output's ``k`` window cells along one axis lie inside the input rather than its padding."""
    start = np.arange(out) * s - before
    return np.minimum(start + k, size) - np.maximum(start, 0)


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


def windows(Xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], out: tuple[int, int],
            dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
    """A read-only view ``(n, out_h, out_w, kh, kw, c)`` of every window of ``Xp``; no copy.

    The window axes come before the channels so that, once copied, a patch is laid out as a
    Keras kernel ``(kh, kw, c, filters)`` flattened over its first three axes.
    """
    sn, sh, sw, sc = Xp.strides
    shape = (Xp.shape[0], out[0], out[1], k[0], k[1], Xp.shape[3])
    strides = (sn, sh * s[0], sw * s[1], sh * dilation[0], sw * dilation[1], sc)
    return as_strided(Xp, shape=shape, strides=strides, writeable=False)


def offset_slice(i: int, j: int, s: tuple[int, int], out: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> tuple:
    """The index of the inputs that kernel offset ``(i, j)`` meets, over every output position."""
    top, left = i * dilation[0], j * dilation[1]
    return (
        slice(None),
        slice(top, top + s[0] * (out[0] - 1) + 1, s[0]),
        slice(left, left + s[1] * (out[1] - 1) + 1, s[1]),
        slice(None),
    )


def offsets(k: tuple[int, int], s: tuple[int, int], out: tuple[int, int],
            dilation: tuple[int, int] = (1, 1)) -> Iterator[tuple[int, int, tuple]]:
    """Yield ``(i, j, offset_slice(i, j, s, out, dilation))`` for every kernel offset, in row-major order."""
    for i in range(k[0]):
        top = i * dilation[0]
        rows = slice(top, top + s[0] * (out[0] - 1) + 1, s[0])  # once per row of the kernel
        for j in range(k[1]):
            left = j * dilation[1]
            yield i, j, (slice(None), rows, slice(left, left + s[1] * (out[1] - 1) + 1, s[1]), slice(None))
