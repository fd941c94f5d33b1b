"""1-D average pooling over the steps of sequences, channel by channel: AveragePooling2D on images of height 1."""

from __future__ import annotations

from typing import Any

from .average_pooling2d import AveragePooling2D


class AveragePooling1D(AveragePooling2D):
    """``Y[b, t, c] = sum_{i < k} Xp[b, t*s + i, c] / N[t]`` over ``X`` of shape ``(n, steps, channels)``.

    Keras 3's layer and signature; ``strides`` defaults to ``pool_size``. ``padding`` is
    ``"valid"`` (``N = k``) or ``"same"`` (``out = ceil(steps / s)``, any odd padding at the end),
    where ``N[t]`` counts only the window's steps inside the sequence, as Keras specifies it.
    Each step of a window gets ``G / N`` of its gradient. AveragePooling2D's computation (a
    sequence is an image of height 1).
    """

    rank = 1

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"pool_size": 2, "input_size": (6, 2)},
            {"pool_size": 3, "strides": 1, "input_size": (7, 2)},
            {"pool_size": 4, "strides": 1, "padding": "same", "input_size": (5, 3)},
        ]
