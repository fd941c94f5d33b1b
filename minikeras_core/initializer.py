"""The Initializer protocol: the first values of a weight, called as Keras's are, plus our generator.

``init(shape, dtype=None, rng=None)`` returns a new array of ``shape`` in ``dtype`` (``None``: the
default float type, float32 unless changed; float64 on request). A random initializer built with
a ``seed`` draws from that seed, so every call gives the same values (as Keras's do); without one
it draws from ``rng``, the generator a layer passes (the model's, seeded by ``Sequential(seed=...)``),
or from a fresh generator when none is given.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from ._config import Plugin
from .backend import standardize_dtype
from .registry import register_kind

#: The standard deviation of a standard normal cut at +-2: Keras divides by it so a truncated draw keeps its variance.
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


class Initializer(Plugin):
    """An initializer fills a new weight of a given shape.

    Implement ``sample(shape, rng)``: the values as a float64 array of ``shape``, drawn from the
    numpy generator ``rng`` if random (``__call__`` picks the generator, checks the shape and
    casts to the dtype). An initializer written for Keras, overriding ``__call__(shape, dtype=None)``
    instead, also works; overriding ``__call__(shape, dtype=None, rng=None)`` draws from the model's
    generator too.

    Declarations the conformance suite reads:

    - ``deterministic = True`` for an initializer whose values depend on its arguments and the
      shape only (zeros, identity); it then declares ``hand_computed_case()``. A random one
      takes a ``seed`` argument (``None`` by default) and declares ``expected_statistics(shape)``.
    - ``conformance_shapes()``: the weight shapes to check with (a classmethod).
    """

    #: Whether the values depend only on the arguments and the shape (no generator is used).
    deterministic = False

    def __call__(self, shape: Any, dtype: Any = None, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return a new array of ``shape`` in ``dtype`` (the default float type when ``None``)."""
        shape = as_shape(shape, type(self).__name__)
        dtype = standardize_dtype(dtype)
        values = np.asarray(self.sample(shape, self.generator(rng)))
        if values.shape != shape:
            raise ValueError(f"{type(self).__name__}: sample() returned shape {values.shape}, expected {shape}")
        return np.array(values, dtype=dtype)  # always a copy: a weight never shares memory with anything

    def sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        """Return the values for ``shape`` (float64), drawing from ``rng`` if random."""
        raise NotImplementedError(f"{type(self).__name__} implements neither sample(shape, rng) nor __call__")

    def generator(self, rng: np.random.Generator | None = None) -> np.random.Generator:
        """The generator to draw from: the own ``seed``'s if set (the same values each call), else ``rng``, else a fresh one."""
        seed = getattr(self, "seed", None)
        if seed is not None:
            return np.random.default_rng(seed)
        return rng if rng is not None else np.random.default_rng()

    @classmethod
    def conformance_shapes(cls) -> list[tuple]:
        """Weight shapes the conformance checks call the initializer with: a bias, two kernels, a Conv2D kernel."""
        return [(7,), (8, 12), (12, 8), (3, 3, 4, 6)]

    def expected_statistics(self, shape: tuple) -> dict | None:
        """A random initializer's ``{"mean", "std"}`` (and ``"min"``/``"max"`` if bounded) for ``shape``, or ``None``."""
        return None

    @classmethod
    def hand_computed_case(cls) -> tuple | None:
        """A deterministic initializer's ``(shape, expected_values)`` for its first conformance case, or ``None``."""
        return None


class RandomInitializer(Initializer):
    """An initializer drawing random values: ``seed`` is ``None`` (the layer's generator) or an int."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(
                f"{type(self).__name__}: seed must be None or an int, got {seed!r}"
                + (" (initializers are classes now: call GlorotUniform()(shape, dtype, rng=rng))"
                   if isinstance(seed, (tuple, list)) else "")
            )
        self.seed = None if seed is None else int(seed)


def as_shape(shape: Any, owner: str = "initializer") -> tuple:
    """``shape`` as a tuple of non-negative ints (an int is a 1-D shape); a ``ValueError`` naming ``owner`` otherwise."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        result = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: shape must be a tuple of non-negative ints, got {shape!r}") from None
    if any(s < 0 for s in result) or any(isinstance(s, bool) or float(s) != r for s, r in zip(shape, result)):
        raise ValueError(f"{owner}: shape must be a tuple of non-negative ints, got {shape!r}")
    return result


def compute_fans(shape: tuple, input_axes: list | None = None, output_axes: list | None = None) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them.

    Given both ``input_axes`` and ``output_axes``, each fan is the product of those axes' sizes.
    Otherwise a scalar has fans 1, a vector ``(n,)`` fans ``n`` and ``n``, a matrix ``(in, out)``
    fans ``in`` and ``out``, and a kernel ``(..., in, out)`` multiplies both by its receptive field
    (the product of the leading axes): a Conv2D kernel ``(kh, kw, c_in, c_out)`` has
    ``fan_in = kh * kw * c_in`` and ``fan_out = kh * kw * c_out``.
    """
    shape = tuple(int(s) for s in shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def sample_truncated_normal(rng: np.random.Generator, shape: tuple, mean: float = 0.0, stddev: float = 1.0) -> np.ndarray:
    """Normal draws cut at two standard deviations: values beyond ``mean +- 2 stddev`` are drawn again (as Keras)."""
    values = rng.standard_normal(size=shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values * stddev + mean


def takes_rng(initializer: Any) -> bool:
    """Whether calling ``initializer`` accepts ``rng=`` (an Initializer written for Keras may not)."""
    try:
        parameters = inspect.signature(initializer).parameters
    except (TypeError, ValueError):
        return False
    return "rng" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


register_kind("initializer", "minikeras.initializers", Initializer)
