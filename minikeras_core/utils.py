"""Keras's utilities: ``to_categorical``, ``pad_sequences`` (also ``keras.preprocessing.sequence``), ``set_random_seed``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import set_random_seed

__all__ = ["pad_sequences", "set_random_seed", "to_categorical"]


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows for the class ids ``x``: shape ``x.shape + (num_classes,)`` (a trailing axis of 1 is dropped first).

    ``num_classes`` defaults to ``max(x) + 1``. Ids must be whole numbers in ``[0, num_classes)``;
    the result is float64, as Keras's numpy path returns.
    """
    x = np.asarray(x)
    if x.dtype.kind == "f" and not np.all(x == np.round(x)):
        raise ValueError("to_categorical: x must hold whole class ids, got non-integer values")
    if x.dtype.kind not in "fiub":
        raise ValueError(f"to_categorical: x must hold integer class ids, got dtype {x.dtype}")
    x = x.astype(np.int64)
    shape = x.shape[:-1] if x.ndim > 1 and x.shape[-1] == 1 else x.shape
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must lie in [0, {num_classes - 1}], got {x.min()}..{x.max()}")
    categorical = np.zeros((x.size, num_classes))
    categorical[np.arange(x.size), x] = 1
    return categorical.reshape(shape + (num_classes,))


def pad_sequences(sequences: Any, maxlen: int | None = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: float = 0.0) -> np.ndarray:
    """Sequences of different lengths as one ``(n, maxlen, *step_shape)`` array, as Keras pads them.

    ``maxlen`` defaults to the longest length. Longer sequences lose their first steps
    (``truncating="pre"``) or their last (``"post"``); shorter ones get ``value`` before
    (``padding="pre"``) or after (``"post"``) their steps. The steps of all sequences are
    placed with one scatter: step ``j`` of the ``L_i`` kept from sequence ``i`` goes to column
    ``maxlen - L_i + j`` (pre) or ``j`` (post).
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: sequences must be a list of sequences, got {type(sequences).__name__}")
    for argument, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {argument} must be 'pre' or 'post', got {choice!r}")
    try:
        arrays = [np.asarray(s) for s in sequences]
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    except TypeError as err:
        raise ValueError(f"pad_sequences: sequences must be a list of sequences ({err})") from None
    shapes = {a.shape[1:] for a in arrays if len(a)}
    if len(shapes) > 1:
        raise ValueError(f"pad_sequences: every step must have one shape, got {sorted(shapes)}")
    step_shape = shapes.pop() if shapes else ()
    maxlen = int(lengths.max()) if maxlen is None and len(lengths) else int(maxlen or 0)
    out = np.full((len(arrays), maxlen) + step_shape, value, dtype=dtype)
    kept = np.minimum(lengths, maxlen)
    if not kept.sum():
        return out
    flat = np.concatenate([a.reshape((len(a),) + step_shape) for a in arrays if len(a)]).astype(dtype, copy=False)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # where each sequence begins in flat
    rows = np.repeat(np.arange(len(arrays)), kept)
    step = np.arange(kept.sum()) - np.repeat(np.cumsum(kept) - kept, kept)  # 0 .. L_i - 1 within each sequence
    skipped = (lengths - kept) if truncating == "pre" else np.zeros_like(lengths)
    source = np.repeat(starts + skipped, kept) + step
    columns = step + (np.repeat(maxlen - kept, kept) if padding == "pre" else 0)
    out[rows, columns] = flat[source]
    return out
