"""Keras's random initializers with fixed parameters: RandomNormal, RandomUniform and TruncatedNormal.

Each names its distribution with Keras's parameters in ``parameters(shape)``: ``{"name":
"uniform", "minval", "maxval"}``, ``{"name": "normal", "mean", "stddev"}`` or ``{"name":
"truncated_normal", "mean", "stddev"}`` (normal draws beyond ``mean +- 2 stddev`` drawn again, so
its standard deviation is ``0.87962566 stddev``). The variance-scaling family reuses them.
"""

from __future__ import annotations

import numpy as np

from minikeras_core.initializers import TRUNCATED_NORMAL_STDDEV, RandomInitializer, sample_truncated_normal


def draw(distribution: dict, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Values of ``shape`` from ``distribution`` (a dict as ``parameters(shape)`` returns), float64."""
    name = distribution["name"]
    if name == "uniform":
        return rng.uniform(distribution["minval"], distribution["maxval"], size=shape)
    if name == "normal":
        return rng.normal(distribution["mean"], distribution["stddev"], size=shape)
    return sample_truncated_normal(rng, shape, distribution["mean"], distribution["stddev"])


def statistics(distribution: dict) -> dict:
    """The mean and standard deviation of ``distribution``, and its bounds where it has them."""
    if distribution["name"] == "uniform":
        low, high = distribution["minval"], distribution["maxval"]
        return {"mean": (low + high) / 2, "std": abs(high - low) / np.sqrt(12.0), "min": low, "max": high}
    mean, stddev = distribution["mean"], abs(distribution["stddev"])
    if distribution["name"] == "normal":
        return {"mean": mean, "std": stddev}
    return {"mean": mean, "std": stddev * TRUNCATED_NORMAL_STDDEV, "min": mean - 2 * stddev, "max": mean + 2 * stddev}


class DistributionInitializer(RandomInitializer):
    """A random initializer drawing every entry from one distribution, given by ``parameters(shape)``."""

    def parameters(self, shape: tuple) -> dict:
        raise NotImplementedError

    def sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        return draw(self.parameters(shape), shape, rng)

    def expected_statistics(self, shape: tuple) -> dict:
        return statistics(self.parameters(shape))


class RandomNormal(DistributionInitializer):
    """Normal draws with ``mean`` and ``stddev`` (Keras's ``random_normal``, also ``normal``)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{}, {"mean": 1.0, "stddev": 0.3, "seed": 4}]

    def parameters(self, shape: tuple) -> dict:
        return {"name": "normal", "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(DistributionInitializer):
    """Normal draws with ``mean`` and ``stddev``, those beyond two ``stddev`` drawn again (Keras's ``truncated_normal``)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{}, {"mean": -0.5, "stddev": 2.0}]

    def parameters(self, shape: tuple) -> dict:
        return {"name": "truncated_normal", "mean": self.mean, "stddev": self.stddev}


class RandomUniform(DistributionInitializer):
    """Uniform draws on ``[minval, maxval)`` (Keras's ``random_uniform``, also ``uniform``)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.minval = minval
        self.maxval = maxval

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{}, {"minval": 0.5, "maxval": 2.0}]

    def parameters(self, shape: tuple) -> dict:
        return {"name": "uniform", "minval": self.minval, "maxval": self.maxval}
