"""Shared by the optimizer plugins: reusable scratch arrays and argument checks."""

from __future__ import annotations

import math

import numpy as np


class ScratchBuffers:
    """One scratch array per (shape, dtype), made on first use and reused at every step.

    An optimizer step on a large weight must not allocate full-size temporaries (element-wise
    numpy runs on one core, so the allocation and the extra pass over memory cost as much as
    the arithmetic). The scratch is not optimizer state: it holds nothing between steps, so it
    stays out of ``get_state`` and weights of the same shape and dtype can share one.
    """

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}

    def __call__(self, like: np.ndarray) -> np.ndarray:
        key = (like.shape, like.dtype)
        array = self._arrays.get(key)
        if array is None:
            array = self._arrays[key] = np.empty(like.shape, like.dtype)
        return array


def unit_interval(owner: object, name: str, value: float) -> float:
    """Return ``value`` as a float after checking it lies in [0, 1) (a decay rate or momentum)."""
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{type(owner).__name__}: {name} must be in [0, 1), got {value}")
    return value


def positive(owner: object, name: str, value: float) -> float:
    """Return ``value`` as a float after checking it is finite and > 0."""
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{type(owner).__name__}: {name} must be a positive number, got {value}")
    return value
