"""What the Keras-style losses share: Keras's common constructor options and stable log-probabilities.

Not a plugin (no entry point names it): the loss plugins subclass :class:`KerasLoss`.
"""

from __future__ import annotations

import numpy as np

from minikeras_core import Loss

#: Keras's reductions that equal the mean over samples when no sample weights are given (Mini-Keras
#: takes none): Keras sums the per-sample losses and divides by their count for all three.
MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")
_KERAS_REDUCTIONS = MEAN_REDUCTIONS + ("sum", "none", None)


class KerasLoss(Loss):
    """A loss taking Keras's ``reduction``, ``name`` and ``dtype`` arguments (and ``axis`` for cross-entropies).

    ``reduction`` may be any of Keras's values that mean "the mean over samples"; ``"sum"`` and
    ``None``/``"none"`` are refused with a ValueError, since ``fit`` averages the loss of each part
    of a batch by its size. ``axis`` must be ``-1`` (the class axis is the last one). ``dtype`` is
    recorded but the loss is computed in ``y_pred``'s dtype, the model's (float32 unless asked
    otherwise), as Mini-Keras never changes precision silently.
    """

    def _set_keras_options(self, reduction, name: str, dtype, axis: int = -1) -> None:
        owner = type(self).__name__
        if not isinstance(reduction, (str, type(None))) or reduction not in _KERAS_REDUCTIONS:
            raise ValueError(f"{owner}: reduction={reduction!r} is not a Keras reduction; expected one of {_KERAS_REDUCTIONS}")
        if reduction not in MEAN_REDUCTIONS:
            raise ValueError(
                f"{owner}: reduction={reduction!r} is not supported; Mini-Keras losses are the mean over samples "
                f"(Keras's default 'sum_over_batch_size'), expected one of {MEAN_REDUCTIONS}"
            )
        if isinstance(axis, bool) or axis != -1:
            raise ValueError(f"{owner}: axis={axis!r} is not supported; the class axis must be the last one, axis=-1")
        if dtype is not None and _dtype_kind(dtype) != "f":
            raise ValueError(f"{owner}: dtype={dtype!r}; expected None or a floating-point dtype such as 'float32'")
        self.reduction = reduction
        self.name = str(name)
        self.dtype = dtype
        self.axis = axis


def _dtype_kind(dtype) -> str:
    try:
        return np.dtype(dtype).kind
    except TypeError:  # not a numpy dtype, e.g. Keras's "mixed_float16" policy
        return "?"


def check_flag(owner: str, argument: str, value) -> bool:
    """``value`` as a bool, refusing anything but ``True``/``False`` (or 1/0): ``from_logits="no"`` is a mistake."""
    if isinstance(value, str) or value not in (True, False):
        raise TypeError(f"{owner}: {argument} must be True or False, got {value!r}")
    return bool(value)


def check_fraction(owner: str, argument: str, value) -> float:
    """``value`` as a float in ``[0, 1]`` (label smoothing)."""
    number = as_float(owner, argument, value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{owner}: {argument} must lie in [0, 1], got {value!r}")
    return number


def as_float(owner: str, argument: str, value) -> float:
    """``value`` as a Python float, or a ValueError naming the argument."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {argument} must be a number, got {value!r}") from None


def log_softmax(z: np.ndarray) -> np.ndarray:
    """``log softmax(z)`` over the last axis as ``s - log sum exp s`` with ``s = z - max z``: every exponent is at most 0."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` from ``e = exp(-|z|)``, so no exponent is positive (as the sigmoid activation)."""
    e = np.exp(-np.abs(z))
    return np.maximum(e, z >= 0) / (1 + e)


def clipped(p: np.ndarray, epsilon: float) -> np.ndarray:
    """``clip(p, eps, 1 - eps)`` in ``p``'s dtype (np.clip's result, with less overhead on small arrays)."""
    eps = p.dtype.type(epsilon)
    return np.minimum(np.maximum(p, eps), 1 - eps)
