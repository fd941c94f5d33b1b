"""Keras's InputLayer: the shape of a model's samples, declared before its first layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer


class InputLayer(Layer):
    """The identity on samples of ``shape`` (no batch axis); its ``input_size`` is that shape.

    ``keras.Input(shape=...)`` makes one. Given first to ``Sequential([...])`` or to the first
    ``add``, it fixes the model's input shape and is not kept in ``model.layers`` (as Keras).
    The shape may also come as ``batch_shape=(batch, *shape)``, Keras 2's ``input_shape=`` or
    ``batch_input_shape=``, or the seed's ``input_size=``. ``batch_size`` is recorded and not
    enforced: any batch size runs. ``dtype`` is the data's: a float dtype is also the layer's
    computation dtype (a model uses its own); an integer one is recorded only. Every entry of the
    shape must be known: variable sizes (``None``) are refused, as are ``sparse``, ``ragged``
    and ``input_tensor`` (there are no symbolic tensors here); ``optional`` is recorded.
    """

    def __init__(self, shape: tuple | None = None, batch_size: int | None = None, dtype: Any = None, sparse: bool | None = None,
                 ragged: bool | None = None, batch_shape: tuple | None = None, input_tensor: Any = None,
                 optional: bool = False, name: str | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        if kwargs.get("activation") is not None:
            raise TypeError(f"{owner}: takes no activation, got activation={kwargs['activation']!r}")
        kwargs.pop("activation", None)
        given = {"shape": shape, "input_shape": kwargs.pop("input_shape", None), "input_size": kwargs.pop("input_size", None)}
        batch_shape = kwargs.pop("batch_input_shape", batch_shape)
        if batch_shape is not None:
            batch_shape = tuple(batch_shape)
            if not batch_shape:
                raise ValueError(f"{owner}: batch_shape must include the batch axis, got {batch_shape!r}")
            if batch_size is not None:
                raise ValueError(f"{owner}: give batch_size or batch_shape, not both (got {batch_size!r} and {batch_shape!r})")
            given["batch_shape[1:]"] = batch_shape[1:]
        shapes = {key: _sample_shape(value, key, owner) for key, value in given.items() if value is not None}
        if not shapes:
            raise ValueError(f"{owner}: give shape=(...), the shape of one sample without the batch axis")
        if len(set(shapes.values())) > 1:
            raise ValueError(f"{owner}: the shapes given disagree: {shapes}; give one")
        for argument, value in (("sparse", sparse), ("ragged", ragged)):
            if value:
                raise ValueError(f"{owner}: {argument}=True is not supported (inputs are dense numpy arrays)")
        if input_tensor is not None:
            raise ValueError(f"{owner}: input_tensor is not supported (there are no symbolic tensors); give shape=(...)")
        is_float = dtype is not None and np.dtype(dtype).kind == "f"
        super().__init__(input_size=next(iter(shapes.values())), name=name, dtype=dtype if is_float else None, **kwargs)
        self.batch_size = batch_size if batch_shape is None else batch_shape[0]
        self.input_dtype = None if dtype is None else np.dtype(dtype).name
        self.optional = bool(optional)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{"shape": (4,), "input_size": (4,)}, {"input_size": (3, 2)}, {"batch_shape": (None, 2, 3, 1), "input_size": (2, 3, 1)}]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        return X

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return grad if need_input_grad else None


def _sample_shape(shape: Any, argument: str, owner: str) -> tuple:
    """``shape`` as a tuple of positive ints, refusing unknown (``None``) entries by name."""
    entries = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(entry is None for entry in entries):
        raise ValueError(f"{owner}: {argument}={shape!r} has unknown (None) sizes; every size of a sample must be given here")
    if any(isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e <= 0 for e in entries):
        raise ValueError(f"{owner}: {argument} must be a tuple of positive ints, got {shape!r}")
    return tuple(int(e) for e in entries)
