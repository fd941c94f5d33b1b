"""Keras's variance-scaling initializers: VarianceScaling and its Glorot, He and Lecun forms.

With ``n`` the weight's ``fan_in``, ``fan_out`` or their mean (``mode``; at least 1) and
``s = scale / n``, entries are drawn from:

- ``"truncated_normal"`` (also ``"normal"``): a normal cut at two standard deviations with
  ``stddev = sqrt(s) / 0.87962566103423978``, so that the cut draws have variance ``s``;
- ``"untruncated_normal"``: a normal with ``stddev = sqrt(s)``;
- ``"uniform"``: uniform on ``[-limit, limit]`` with ``limit = sqrt(3 s)``.

Fans are Keras's (:func:`minikeras_core.initializers.compute_fans`): a Conv2D kernel
``(kh, kw, c_in, c_out)`` has ``fan_in = kh kw c_in``. The named forms fix ``scale``, ``mode`` and
``distribution``: Glorot ``(1, fan_avg)``, He ``(2, fan_in)``, Lecun ``(1, fan_in)``, each normal
(truncated) or uniform; Glorot uniform's limit is thus ``sqrt(6 / (fan_in + fan_out))``.
"""

from __future__ import annotations

import math

from minikeras_core.initializers import TRUNCATED_NORMAL_STDDEV, compute_fans

from .init_random import DistributionInitializer

_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(DistributionInitializer):
    """Draws with variance ``scale / n`` (see the module docstring); Keras's ``variance_scaling``."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, input_axes: list | None = None, output_axes: list | None = None) -> None:
        super().__init__(seed)
        owner = type(self).__name__
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0:
            raise ValueError(f"{owner}: scale must be a positive number, got {scale!r}")
        if mode not in _MODES:
            raise ValueError(f"{owner}: mode must be one of {_MODES}, got {mode!r}")
        kind = str(distribution).lower()
        kind = "truncated_normal" if kind == "normal" else kind
        if kind not in _DISTRIBUTIONS:
            raise ValueError(f"{owner}: distribution must be one of {_DISTRIBUTIONS} or 'normal', got {distribution!r}")
        self.scale = scale
        self.mode = mode
        self.distribution = kind
        self.input_axes = input_axes
        self.output_axes = output_axes

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{}, {"scale": 0.3, "mode": "fan_avg", "distribution": "uniform"},
                {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal", "seed": 3}]

    def parameters(self, shape: tuple) -> dict:
        """Keras's parameters for ``shape``: the uniform's bounds or the normal's mean and stddev."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return {"name": "uniform", "minval": -limit, "maxval": limit}
        if self.distribution == "untruncated_normal":
            return {"name": "normal", "mean": 0.0, "stddev": math.sqrt(scale)}
        return {"name": "truncated_normal", "mean": 0.0, "stddev": math.sqrt(scale) / TRUNCATED_NORMAL_STDDEV}


class _Named(VarianceScaling):
    """A named form: its ``scale``, ``mode`` and ``distribution`` are fixed; only ``seed`` and the fan axes are arguments."""

    fixed: tuple = ()

    def __init__(self, seed: int | None = None, input_axes: list | None = None, output_axes: list | None = None) -> None:
        scale, mode, distribution = self.fixed
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{}, {"seed": 5}]


class GlorotUniform(_Named):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))`` (Keras's ``glorot_uniform``)."""

    fixed = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Named):
    """Truncated normal with standard deviation ``sqrt(2 / (fan_in + fan_out))`` (Keras's ``glorot_normal``)."""

    fixed = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Named):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)`` (Keras's ``he_uniform``)."""

    fixed = (2.0, "fan_in", "uniform")


class HeNormal(_Named):
    """Truncated normal with standard deviation ``sqrt(2 / fan_in)`` (Keras's ``he_normal``)."""

    fixed = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Named):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(3 / fan_in)`` (Keras's ``lecun_uniform``)."""

    fixed = (1.0, "fan_in", "uniform")


class LecunNormal(_Named):
    """Truncated normal with standard deviation ``sqrt(1 / fan_in)`` (Keras's ``lecun_normal``)."""

    fixed = (1.0, "fan_in", "truncated_normal")
