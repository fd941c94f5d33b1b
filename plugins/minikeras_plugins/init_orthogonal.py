"""Keras's orthogonal initializer."""

from __future__ import annotations

import math

import numpy as np

from minikeras_core.initializers import RandomInitializer


class Orthogonal(RandomInitializer):
    """``gain`` times a random orthogonal matrix (Keras's ``orthogonal``, also ``OrthogonalInitializer``).

    The weight is seen as a matrix of ``rows = prod(shape[:-1])`` by ``cols = shape[-1]``. A normal
    matrix ``A`` of ``(max(rows, cols), min(rows, cols))`` is factored ``A = QR``; each column of
    ``Q`` is multiplied by the sign of ``R``'s diagonal entry (so ``Q`` is uniformly distributed
    over orthogonal matrices), transposed when ``rows < cols``, and reshaped to ``shape``. Its
    columns (or rows, the shorter side) are then orthonormal: ``Q^T Q = gain^2 I``. A weight of
    rank below 2 is a ``ValueError``.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = gain

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{}, {"gain": 2.0, "seed": 11}]

    @classmethod
    def conformance_shapes(cls) -> list[tuple]:
        return [(8, 12), (12, 8), (3, 3, 4, 6)]

    def sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the weight must be at least 2-D, got shape {shape} of rank {len(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        q, r = np.linalg.qr(rng.standard_normal(size=(max(rows, cols), min(rows, cols))))
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def expected_statistics(self, shape: tuple) -> dict:
        """Mean 0 and, the shorter side being orthonormal, mean square ``gain^2 / max(rows, cols)``."""
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return {"mean": 0.0, "std": abs(self.gain) / math.sqrt(max(rows, cols))}
