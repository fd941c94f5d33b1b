"""Targets in one place: how ``y_true`` is matched to ``y_pred`` by losses, metrics and the model.

Accepted forms of ``y_true`` for predictions of shape ``(batch, ..., k)``:

- the same shape as ``y_pred`` (one-hot rows, probabilities, regression targets);
- for one output unit (``k == 1``), the shape without that axis, ``(batch, ...)``;
- for ``k > 1`` and a consumer that takes class ids, integer ids of shape ``(batch, ...)`` or
  ``(batch, ..., 1)``, whole numbers in ``[0, k)``; floats holding whole numbers are accepted.

Anything else is a ``ValueError`` naming the owner, what it got and what it expected.
"""

from __future__ import annotations

import numpy as np


def class_ids_of(ids: np.ndarray, classes: int, owner: str) -> np.ndarray:
    """``ids`` checked to be whole numbers in ``[0, classes)``, as ``int64``."""
    ids = np.asarray(ids)
    if ids.dtype.kind == "f":
        if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
            raise ValueError(f"{owner}: class ids must be whole numbers, got non-integer values")
    elif ids.dtype.kind not in "iub":
        raise ValueError(f"{owner}: class ids must be integers, got dtype {ids.dtype}")
    ids = ids.astype(np.int64, copy=False)
    if ids.size and (ids.min() < 0 or ids.max() >= classes):
        raise ValueError(
            f"{owner}: class ids must lie in [0, {classes - 1}] for {classes} outputs, got {ids.min()}..{ids.max()}"
        )
    return ids


def _ids_form(y_true: np.ndarray, pred_shape: tuple) -> np.ndarray | None:
    """``y_true`` without a trailing axis of 1 when it has the shape of class ids for ``pred_shape``, else ``None``."""
    if pred_shape[-1] > 1 and y_true.shape == pred_shape[:-1] + (1,):
        return y_true[..., 0]
    if y_true.shape == pred_shape[:-1]:
        return y_true
    return None


def _mismatch(owner: str, y_true: np.ndarray, pred_shape: tuple, ids: bool) -> ValueError:
    expected = "the same shape" + (f" or integer class ids of shape {pred_shape[:-1]}" if ids else "")
    return ValueError(f"{owner}: y_true has shape {y_true.shape} but y_pred has shape {pred_shape}; expected {expected}")


def match_targets(y_true, y_pred: np.ndarray, owner: str, *, class_ids: bool) -> np.ndarray:
    """``y_true`` with ``y_pred``'s shape and dtype (class ids become one-hot rows when ``class_ids``)."""
    y_true = np.asarray(y_true)
    pred_shape = np.shape(y_pred)
    if len(pred_shape) < 2:
        raise ValueError(f"{owner}: y_pred must be (batch, ..., k), got shape {pred_shape}")
    dtype = y_pred.dtype
    if y_true.shape == pred_shape:
        return y_true.astype(dtype, copy=False)
    if pred_shape[-1] == 1 and y_true.shape == pred_shape[:-1]:
        return y_true[..., None].astype(dtype, copy=False)
    ids = _ids_form(y_true, pred_shape) if class_ids else None
    if ids is None:
        raise _mismatch(owner, y_true, pred_shape, class_ids)
    return np.eye(pred_shape[-1], dtype=dtype)[class_ids_of(ids, pred_shape[-1], owner)]


def target_class_ids(y_true, y_pred: np.ndarray, owner: str) -> np.ndarray:
    """``y_true`` as integer class ids of shape ``y_pred.shape[:-1]``: the argmax of rows of ``y_pred``'s shape, or the ids checked."""
    y_true = np.asarray(y_true)
    pred_shape = np.shape(y_pred)
    if y_true.shape == pred_shape:
        return np.argmax(y_true, axis=-1)
    ids = _ids_form(y_true, pred_shape)
    if ids is None:
        raise _mismatch(owner, y_true, pred_shape, True)
    return class_ids_of(ids, max(pred_shape[-1], 2), owner)


def check_targets(y: np.ndarray, out: tuple, owner: str, loss_name: str, *, class_ids: bool,
                  target_range: tuple | None, name: str = "y", last_layer: str = "") -> None:
    """Check a whole target array ``y`` (samples first) against one sample's output shape ``out``, before training.

    The form rules are those of :func:`match_targets`; ``target_range`` ``(low, high)`` bounds
    targets given in the output's shape (cross-entropies take probabilities). Messages name
    ``owner`` (``"fit()"``), the array (``name``), the loss and the last layer.
    """
    sample, classes = y.shape[1:], out[-1]
    if sample == out or (classes == 1 and sample == out[:-1]):
        if target_range is not None and y.size and (y.min() < target_range[0] or y.max() > target_range[1]):
            raise ValueError(
                f"{owner}: {name} holds values from {y.min()} to {y.max()}, but the loss {loss_name} expects "
                f"targets in [{target_range[0]}, {target_range[1]}]"
            )
        return
    if classes > 1 and sample in (out[:-1], out[:-1] + (1,)):
        if not class_ids:
            raise ValueError(
                f"{owner}: {name} has samples of shape {sample} (class ids?) but the loss {loss_name} takes targets "
                f"of the output's shape {out}; one-hot encode them or use a loss that accepts class ids"
            )
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise ValueError(f"{owner}: {name} looks like class ids (shape {sample}) but holds non-integer values")
        if y.size and (y.min() < 0 or y.max() >= classes):
            raise ValueError(
                f"{owner}: {name} holds class ids from {y.min()} to {y.max()}, but the model has {classes} outputs; "
                f"the loss {loss_name} expects ids in [0, {classes - 1}]"
            )
        return
    expected = f"{out}" + (f" or class ids of shape {out[:-1]}" if class_ids else "")
    layer = f" (last layer {last_layer!r})" if last_layer else ""
    raise ValueError(f"{owner}: {name} has samples of shape {sample} but the model outputs {out}{layer}; expected targets of shape {expected}")
