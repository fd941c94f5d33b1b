"""1-D max pooling over the steps of sequences, channel by channel: MaxPool2D on images of height 1."""

from __future__ import annotations

from typing import Any

from .maxpool2d import MaxPool2D


class MaxPooling1D(MaxPool2D):
    """``Y[b, t, c] = max_{i < k} Xp[b, t*s + i, c]`` over ``X`` of shape ``(n, steps, channels)``.

    Keras 3's layer and signature; ``strides`` defaults to ``pool_size``. ``padding`` is
    ``"valid"`` or ``"same"`` (``out = ceil(steps / s)``, any odd padding at the end, padded
    cells never win). The gradient goes to the first maximum of each window, and overlapping
    windows add theirs, as in MaxPool2D, whose computation (a sequence is an image of height 1)
    this is.
    """

    rank = 1
    original_keywords: dict = {}
    forms = "Keras's MaxPooling1D(pool_size=2, strides=None, padding='valid', ...)"
    # MaxPool2D's geometry: sequences as images of height 1
    _k = property(lambda self: (1,) + self.pool_size)
    _s = property(lambda self: (1,) + self.strides)
    _image = property(lambda self: (1,) + self.input_shape)

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid", data_format: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"input_size": (6, 2)},
            {"pool_size": 3, "strides": 1, "input_size": (7, 2)},
            {"pool_size": 3, "strides": 2, "padding": "same", "input_size": (6, 3)},
        ]
