"""``keras.Input``: the shape of a model's samples, given before its first layer."""

from __future__ import annotations

from typing import Any

from .layer import Layer
from .registry import get


def Input(shape: tuple | None = None, batch_size: int | None = None, dtype: Any = None, name: str | None = None, **kwargs: Any) -> Layer:  # noqa: N802 - Keras's name
    """An ``InputLayer`` for samples of ``shape`` (no batch axis), to give first to ``Sequential([...])`` or ``add``.

    ``batch_size`` is accepted, as Keras's, and unused: any batch size runs.
    """
    if shape is None:
        raise TypeError("Input: give shape=(...), the shape of one sample without the batch axis")
    return get("layer", "InputLayer", shape=shape, dtype=dtype, name=name, **kwargs)
