"""All weights in one vector, all gradients in another, for optimizers that update entry by entry.

An element-wise optimizer (``optimizer.elementwise``: each entry's update depends on that entry
and its own state alone, as in SGD or Adam) gives the same result on one long vector as on each
array, so the weights move into one contiguous buffer and the gradients into another, and a
step is one ``apply`` over long vectors instead of one per array. Layers keep working
unchanged: their ``params`` / ``grads`` entries become views into the buffers. The optimizer's
per-array state, when it has some already, is concatenated through its public
``get_state`` / ``set_state``, so training carries on exactly.
"""

from __future__ import annotations

import math

import numpy as np

from ..layer import Layer
from ..optimizer import Optimizer


class FlatBuffer:
    """The trainable weights of ``layers`` as views of ``params`` and their gradients as views of ``grads`` (two flat vectors).

    Non-trainable weights (those without a gradient) stay arrays of their own: no optimizer sees them.
    """

    def __init__(self, layers: list[Layer]) -> None:
        weights = [(layer, name) for layer in layers for name in layer.trainable_names()]
        dtype = weights[0][0].params[weights[0][1]].dtype if weights else np.float64
        total = sum(layer.params[name].size for layer, name in weights)
        self.params, self.grads = np.empty(total, dtype), np.zeros(total, dtype)
        offset = 0
        self.views = []  # (params dict, grads dict, name, weight view, gradient view) of every trainable weight
        for layer, name in weights:
            param = layer.params[name]
            stop = offset + param.size
            view = self.params[offset:stop].reshape(param.shape)
            view[...] = param
            layer.params[name] = view
            grad = self.grads[offset:stop].reshape(param.shape)
            grad[...] = layer.grads[name]
            layer.grads[name] = grad
            self.views.append((layer.params, layer.grads, name, view, grad))
            offset = stop
        self.shapes = [layer.params[name].shape for layer, name in weights]

    def own_grads(self, layers: list[Layer]) -> np.ndarray:
        """Give ``layers`` (replicas of the model's) gradients that are views of one new zeroed flat vector; return it."""
        flat, offset = np.zeros_like(self.grads), 0
        for layer in layers:
            for name in layer.trainable_names():
                shape = layer.grads[name].shape
                layer.grads[name] = flat[offset : offset + math.prod(shape)].reshape(shape)
                offset += math.prod(shape)
        return flat


def can_flatten(layers: list[Layer], optimizer: Optimizer) -> bool:
    """Whether ``optimizer`` may update the weights of ``layers`` as one vector: element-wise, and weights of one dtype."""
    dtypes = {layer.params[name].dtype for layer in layers for name in layer.trainable_names()}
    return bool(getattr(optimizer, "elementwise", False)) and len(dtypes) == 1


def flatten_optimizer_state(optimizer: Optimizer, shapes: list[tuple]) -> None:
    """Turn per-array optimizer state (one slot per weight of ``shapes``) into one slot for the flat vector.

    Nothing to do before the first step (no state yet) or when the state is already flat.
    """
    state = optimizer.get_state()
    slots, saved_shapes = state["slots"], [tuple(s) for s in state["shapes"]]
    if not slots or saved_shapes != [tuple(s) for s in shapes]:
        return
    flat_slot = {key: np.concatenate([slot[key].ravel() for slot in slots]) for key in slots[0]}
    optimizer.set_state({**state, "shapes": [[sum(math.prod(s) for s in shapes)]], "slots": [flat_slot]})
