"""Arguments and arrays handed to ``fit``, ``evaluate`` and ``predict``: checked once, here.

Every check fails early with a message naming the method, the argument, what it got and what it
expected. Targets follow the rules of :mod:`minikeras_core.targets`, the same ones the losses
and metrics apply. ``model`` below is anything with ``input_shape``, ``output_shape``, ``dtype``,
``layers`` and (for targets) a compiled ``loss``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..arguments import positive_int
from ..targets import check_targets


def verbose_argument(value: Any) -> int:
    """``verbose`` as 0, 1 or 2 (``"auto"`` is 1)."""
    if value == "auto":
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value not in (0, 1, 2):
        raise ValueError(f"verbose: expected 0, 1, 2 or 'auto', got {value!r}")
    return int(value)


def epochs_argument(n_epochs: int | None, epochs: int | None) -> int:
    """The last epoch number from the seed's ``n_epochs`` or Keras's ``epochs`` (1 when neither is given)."""
    if n_epochs is not None and epochs is not None and n_epochs != epochs:
        raise ValueError(f"fit(): got n_epochs={n_epochs} and epochs={epochs}; give one")
    value = n_epochs if n_epochs is not None else (epochs if epochs is not None else 1)
    return positive_int(value, "n_epochs")


def all_finite(array: np.ndarray, chunk_bytes: int = 1 << 20) -> bool:
    """``np.isfinite(array).all()``, a slice of samples at a time, so the check never doubles the data's memory."""
    rows = max(1, chunk_bytes // max(1, array[:1].nbytes))
    return all(np.isfinite(array[start : start + rows]).all() for start in range(0, len(array), rows))


def _check_kind_and_size(array: np.ndarray, argument: str, method: str) -> None:
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{method}(): {argument} must be numeric, got an array of dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{method}(): {argument} is empty (shape {array.shape}); expected at least one sample")


def as_array(value: Any, argument: str, method: str, dtype: np.dtype | None) -> np.ndarray:
    """``value`` as a non-empty, numeric, finite array (cast to ``dtype`` when given)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise TypeError(f"{method}(): {argument} must be a numeric array, got {type(value).__name__} ({err})") from None
    _check_kind_and_size(array, argument, method)
    if array.dtype.kind == "f" and not all_finite(array):
        raise ValueError(f"{method}(): {argument} contains NaN or infinity; expected finite numbers")
    return array if dtype is None else array.astype(dtype, copy=False)


def check_inputs(model: Any, X: Any, method: str, convert: bool = True, argument: str = "X") -> np.ndarray:
    """``X`` checked (numeric, non-empty, finite, sample shape) and cast to the model's dtype.

    With ``convert=False`` an array is neither cast nor scanned for NaN here (``predict`` does
    both chunk by chunk, so an array larger than memory is never copied whole).
    """
    if isinstance(X, np.memmap):  # never copied whole: checked here a slice at a time, cast a batch at a time
        X = as_array(X, argument, method, None)
    elif convert or not isinstance(X, np.ndarray):
        X = as_array(X, argument, method, model.dtype)
    else:
        _check_kind_and_size(X, argument, method)
    if X.ndim < 1 or X.shape[1:] != model.input_shape:
        raise ValueError(
            f"{method}(): {argument} has samples of shape {X.shape[1:]}, the model expects {model.input_shape} "
            f"(input_size of its first layer {model.flat_layers[0].name!r})"
        )
    return X


def check_data(model: Any, X: Any, y: Any, method: str, suffix: str = "") -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` checked against the model and its loss; float targets cast to the model's dtype.

    ``suffix`` tells the arrays apart in messages (``"_val (validation_data)"``).
    """
    X = check_inputs(model, X, method, argument=f"X{suffix}")
    y = as_array(y, f"y{suffix}", method, None)
    if len(X) != len(y):
        raise ValueError(f"{method}(): X{suffix} has {len(X)} samples but y{suffix} has {len(y)}; expected the same number")
    if y.dtype.kind == "f":
        y = y.astype(model.dtype, copy=False)
    loss = model.loss
    check_targets(y, model.output_shape, f"{method}()", type(loss).__name__, class_ids=getattr(loss, "accepts_class_ids", False),
                  target_range=getattr(loss, "target_range", None), name=f"y{suffix}", last_layer=model.flat_layers[-1].name)
    return X, y


def split_validation(model: Any, X: np.ndarray, y: np.ndarray, split: Any, data: Any) -> tuple:
    """``(X_train, y_train, validation)``, Keras's way: ``validation_data`` checked, or the last ``split`` of the samples.

    Keras keeps ``floor(n * (1 - split))`` samples for training and validates on the rest, taken
    from the end of the data as given, before any shuffling.
    """
    if data is not None:
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(f"fit(): validation_data must be a pair (X_val, y_val), got {type(data).__name__}")
        return X, y, check_data(model, data[0], data[1], "fit", "_val (validation_data)")
    try:
        split = float(split or 0.0)
    except (TypeError, ValueError):
        raise ValueError(f"fit(): validation_split must be a number in [0, 1), got {split!r}") from None
    if not 0.0 <= split < 1.0:
        raise ValueError(f"fit(): validation_split must be in [0, 1), got {split}")
    if split == 0.0:
        return X, y, None
    cut = int(math.floor(len(X) * (1.0 - split)))
    if cut == 0 or cut == len(X):
        raise ValueError(
            f"fit(): validation_split={split} of {len(X)} samples leaves {cut} for training and "
            f"{len(X) - cut} for validation; expected at least one of each"
        )
    return X[:cut], y[:cut], (X[cut:], y[cut:])


def chunks(n: int, batch_size: int | None, default: int = 256) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of ``batch_size`` samples (``default`` when None) covering ``range(n)``."""
    size = positive_int(batch_size if batch_size is not None else default, "batch_size")
    for start in range(0, n, size):
        yield start, min(start + size, n)


#: Keras arguments that would change the numbers and are not supported: refused unless left at ``None``.
UNSUPPORTED = ("loss_weights", "weighted_metrics", "sample_weight", "class_weight")


def refuse_unsupported(method: str, extras: dict, allowed: tuple = ()) -> None:
    """Accept Keras's keywords in ``allowed`` (they change nothing here), refuse sample weights by name and anything else as Python would."""
    for key, value in extras.items():
        if key in allowed:
            continue
        if key in UNSUPPORTED:
            if value is not None:
                raise ValueError(f"{method}(): {key} is not supported by Mini-Keras (every sample weighs the same); leave it None")
            continue
        raise TypeError(f"{method}() got an unexpected keyword argument {key!r}")
