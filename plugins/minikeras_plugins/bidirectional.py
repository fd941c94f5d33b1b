"""Keras's Bidirectional: a recurrent layer run over the sequence both ways, the two outputs merged."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer, get
from minikeras_core.registry import serialize

#: Folded into the step's noise key for the backward layer, so that its dropout masks are not the forward layer's.
_BACKWARD_NOISE = 0x5DEECE66D

_MERGES = ("concat", "sum", "mul", "ave")


class Bidirectional(Layer):
    """``merge(forward(X), reversed(backward(X)))``: ``layer`` (an instance or a config; a fresh copy of it reads the
    steps first to last) and ``backward_layer`` (by default the same with ``go_backwards=True``; its returned
    sequence is put back in reading order), merged by ``merge_mode``: ``"concat"`` (last axis), ``"sum"``,
    ``"mul"`` or ``"ave"``. ``None`` (two outputs) cannot follow in a Sequential and is refused.

    Weights as Keras: the forward layer's, then the backward layer's (``forward/kernel``, ...,
    ``backward/kernel``, ...); ``weights`` sets them all at build. A mask of steps reaches both layers;
    with ``return_sequences`` each outputs zeros at masked steps (Keras's ``zero_output_for_mask``).
    Backward: the output gradient split (concat), shared (sum; halved for ave) or times the other
    output (mul); the input gradient is the sum of both layers'.
    """

    def __init__(self, layer: Any, merge_mode: str | None = "concat", weights: Any = None, backward_layer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        template = get("layer", layer)
        for name, value in (("layer", template), ("backward_layer", backward_layer)):
            if value is not None and not all(hasattr(get("layer", value), a) for a in ("go_backwards", "return_sequences")):
                raise ValueError(f"Bidirectional: {name} must be a recurrent layer (with go_backwards and return_sequences), "
                                 f"got {type(get('layer', value)).__name__}")
        if merge_mode not in _MERGES:
            why = " (two outputs, which a Sequential cannot pass on)" if merge_mode is None else ""
            raise ValueError(f"Bidirectional: merge_mode must be one of {', '.join(map(repr, _MERGES))}, got {merge_mode!r}{why}")
        config = serialize(template)
        self.forward_layer = get("layer", config)
        if backward_layer is None:
            backward_layer = {**config, "config": {**config["config"], "go_backwards": True}}
        self.backward_layer = get("layer", backward_layer)
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(f"Bidirectional: the forward and backward layers need different go_backwards, both have {fwd.go_backwards}")
        if fwd.return_sequences != bwd.return_sequences:
            raise ValueError("Bidirectional: the forward and backward layers need the same return_sequences, got "
                             f"{fwd.return_sequences} and {bwd.return_sequences}")
        for sub in (fwd, bwd):  # as Keras: masked steps of a returned sequence are zeros
            sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode, self.return_sequences, self._initial_weights = merge_mode, fwd.return_sequences, weights
        if self.input_size is None and template.input_size is not None:
            self.input_size = template.input_size

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"layer": {"class_name": "lstm", "config": {"units": 2}}, "input_size": (4, 3)},
            {"layer": {"class_name": "gru", "config": {"units": 2, "return_sequences": True, "dropout": 0.2}}, "merge_mode": "mul",
             "input_size": (3, 2)},
            {"layer": {"class_name": "simple_rnn", "config": {"units": 3, "return_sequences": True}}, "merge_mode": "ave",
             "backward_layer": {"class_name": "simple_rnn", "config": {"units": 3, "return_sequences": True, "go_backwards": True,
                                                                        "activation": "relu"}}, "input_size": (3, 2)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        shape = tuple(self.forward_layer.compute_output_shape(input_shape))
        other = tuple(self.backward_layer.compute_output_shape(input_shape))
        if self.merge_mode == "concat":
            return (*shape[:-1], shape[-1] + other[-1])
        if shape != other:
            raise ValueError(f"{self._label}: merge_mode={self.merge_mode!r} needs outputs of one shape, got {shape} and {other}")
        return shape

    def create_weights(self, input_shape: tuple) -> None:
        for prefix, sub in (("forward/", self.forward_layer), ("backward/", self.backward_layer)):
            sub.build(input_shape, dtype=self.dtype, rng=self._rng)
            for name, value in sub.params.items():  # the same arrays: the wrapper's weights are its layers'
                self.params[prefix + name] = value
                if name in sub.grads:
                    self.grads[prefix + name] = sub.grads[name]
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)

    def get_config(self) -> dict:
        return {**super().get_config(), "weights": None}  # the weights are saved with the others, not in the architecture

    def compute_mask(self, X: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
        return mask if self.return_sequences else None

    def _bind(self) -> None:
        """Point the layers' weights and gradients at the wrapper's arrays (the model may have moved those into one buffer)."""
        for prefix, sub in (("forward/", self.forward_layer), ("backward/", self.backward_layer)):
            for name in sub.params:
                sub.params[name] = self.params[prefix + name]
            for name in sub.grads:
                sub.grads[name] = self.grads[prefix + name]
            # inside fit: the step's noise, another stream for each direction
            self.share_noise(sub, 0 if sub is self.forward_layer else _BACKWARD_NOISE)

    def call(self, X: np.ndarray, training: bool = False, mask: np.ndarray | None = None) -> np.ndarray:
        self._bind()
        y, y_rev = (sub.forward(X, training, mask=mask) for sub in (self.forward_layer, self.backward_layer))
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        if training and self.merge_mode == "mul":
            self._outputs = (y, y_rev)
        if self.merge_mode == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "mul":
            return y * y_rev
        return y + y_rev if self.merge_mode == "sum" else (y + y_rev) / 2

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        self._bind()
        if self.merge_mode == "concat":
            units = self.forward_layer.output_shape[-1]
            g, g_rev = grad[..., :units], grad[..., units:]
        elif self.merge_mode == "mul":
            y, y_rev = self._outputs
            g, g_rev = grad * y_rev, grad * y
        else:
            g = g_rev = grad if self.merge_mode == "sum" else grad / 2
        if self.return_sequences:
            g_rev = g_rev[:, ::-1]
        dX = self.forward_layer.backward(np.ascontiguousarray(g), need_input_grad=need_input_grad)
        dX_rev = self.backward_layer.backward(np.ascontiguousarray(g_rev), need_input_grad=need_input_grad)
        return dX + dX_rev if need_input_grad else None
