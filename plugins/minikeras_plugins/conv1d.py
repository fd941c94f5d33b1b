"""The 1-D convolution layer: Conv2D's math on sequences seen as images of height 1."""

from __future__ import annotations

from typing import Any

from .conv2d import Conv2D


class Conv1D(Conv2D):
    """``Z[b, t, f] = bias[f] + sum_{i, c} Xp[b, t*s + i*d, c] * kernel[i, c, f]`` over ``X`` of shape ``(n, steps, channels)``.

    Keras 3's layer and signature. ``padding`` is ``"valid"``, ``"same"`` (``out = ceil(steps / s)``,
    any odd padding at the end) or ``"causal"``: ``(k - 1) d`` zeros before the first step and
    none after, so that output ``t`` sees no input later than ``t`` (with stride 1). The kernel
    is ``(kernel_size, channels, filters)`` (Glorot uniform), the bias ``(filters,)`` (zeros).
    Strides and ``dilation_rate`` above 1 do not go together; ``groups`` other than 1, channels
    first, regularizers and constraints are refused, as in Conv2D, whose computation (a
    sequence is an image of height 1) and gradients this is.
    """

    rank = 1
    padding_modes = ("valid", "same", "causal")
    original_keywords: dict = {}
    forms = "Keras's Conv1D(filters, kernel_size, strides=1, padding='valid', ...)"
    # Conv2D's geometry: sequences as images of height 1
    _k = property(lambda self: (1,) + self.kernel_size)
    _s = property(lambda self: (1,) + self.strides)
    _d = property(lambda self: (1,) + self.dilation_rate)
    _image = property(lambda self: (1,) + self.input_shape)

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid", data_format: Any = None,
                 dilation_rate: Any = 1, groups: int = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"filters": 2, "kernel_size": 3, "input_size": (6, 2)},
            {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same", "activation": "tanh", "input_size": (7, 2)},
            {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "causal", "input_size": (6, 3)},
            {"filters": 2, "kernel_size": 2, "padding": "same", "use_bias": False, "input_size": (5, 9)},
        ]
