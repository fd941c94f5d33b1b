"""Keras's deterministic initializers: Zeros, Ones, Constant and Identity (no generator is used)."""

from __future__ import annotations

from numbers import Real

import numpy as np

from minikeras_core.initializers import Initializer


class Zeros(Initializer):
    """All zeros (Keras's ``zeros``, also ``zero``)."""

    deterministic = True

    @classmethod
    def hand_computed_case(cls) -> tuple:
        return (2, 3), [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]

    def sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        return np.zeros(shape)


class Ones(Initializer):
    """All ones (Keras's ``ones``, also ``one``)."""

    deterministic = True

    @classmethod
    def hand_computed_case(cls) -> tuple:
        return (3, 2), [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]

    def sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        return np.ones(shape)


class Constant(Initializer):
    """Every entry ``value``, a Python scalar (Keras's ``constant``)."""

    deterministic = True

    def __init__(self, value: float = 0.0) -> None:
        if isinstance(value, bool) or not isinstance(value, (Real, np.number)):
            raise ValueError(f"Constant: value must be a scalar number, got {value!r}")
        self.value = value

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{"value": 2.5}, {}, {"value": -3}]

    @classmethod
    def hand_computed_case(cls) -> tuple:
        return (2, 2), [[2.5, 2.5], [2.5, 2.5]]

    def sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        return np.full(shape, float(self.value))


class Identity(Initializer):
    """``gain`` times the identity matrix: ones on the main diagonal of a 2-D weight, even when not square.

    Keras's ``identity`` (also ``IdentityInitializer``); a weight of another rank is a ``ValueError``.
    """

    deterministic = True

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{"gain": 0.5}, {}]

    @classmethod
    def conformance_shapes(cls) -> list[tuple]:
        return [(8, 12), (12, 8), (5, 5)]

    @classmethod
    def hand_computed_case(cls) -> tuple:
        return (2, 3), [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]

    def sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        if len(shape) != 2:
            raise ValueError(f"Identity: the identity initializer fills 2-D weights only, got shape {shape} of rank {len(shape)}")
        return self.gain * np.eye(*shape)
