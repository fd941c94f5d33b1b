"""What a layer does with its weights: create them, count them, read and write them, and share them with replicas."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from . import initializers


class Weights:
    """The weight half of :class:`~minikeras_core.Layer`: ``params`` (every weight by name, in Keras's
    order) and ``grads`` (the gradient of each trainable one, written in place by ``call_backward``).
    """

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    #: Keras's ``layer.trainable``: set it to ``False`` to freeze the layer (``fit`` then leaves its
    #: weights alone; its input gradient still flows to the layers before it).
    trainable = True

    def trainable_names(self) -> list[str]:
        """The names of the weights an optimizer updates: those with a gradient, none while frozen."""
        return list(self.grads) if self.trainable else []

    def add_weight(self, name: str, shape: tuple, initializer: Any = "glorot_uniform", trainable: bool = True) -> np.ndarray:
        """Create a weight (and, when ``trainable``, its zeroed gradient buffer) and return it; call from ``create_weights``.

        A non-trainable weight (``trainable=False``: BatchNormalization's moving statistics) is
        saved, loaded and counted like the others but has no gradient, so no optimizer ever
        changes it; the layer updates it itself (in ``call`` while training).

        ``initializer`` is anything a layer's ``*_initializer`` argument may be (see
        :func:`minikeras_core.initializers.get_initializer`): a registered name, an Initializer
        class, instance or config dict, ``None`` (Glorot uniform) or a callable. An unseeded one
        draws from the model's generator, so ``Sequential(seed=...)`` makes the weights reproducible.
        """
        init = initializers.get_initializer(initializer)
        shape = tuple(int(s) for s in shape)
        try:
            value = init(shape, dtype=self.dtype, rng=getattr(self, "_rng", None))
        except ValueError as err:  # e.g. Identity on a weight that is not 2-D: say which layer and weight
            raise ValueError(f"{self._label}: cannot initialize weight {name!r} of shape {shape}: {err}") from err
        if np.shape(value) != shape:
            raise ValueError(f"{self._label}: the initializer of weight {name!r} returned shape {np.shape(value)}, expected {shape}")
        value = np.array(value, dtype=self.dtype, order="C")  # a copy: no weight shares memory with an initializer's array
        self.params[name] = value
        if trainable:
            self.grads[name] = np.zeros_like(value)
        return value

    def count_params(self) -> int:
        """Return the number of scalar weights, trainable or not."""
        return int(sum(p.size for p in self.params.values()))

    def count_trainable_params(self) -> int:
        """Return the number of scalar weights an optimizer trains (those with a gradient, none while frozen)."""
        return int(sum(self.params[name].size for name in self.trainable_names()))

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of the weights, in Keras's order and layout."""
        return [p.copy() for p in self.params.values()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (as ``get_weights`` returns them) into the layer, in place."""
        weights = list(weights)
        if len(weights) != len(self.params):
            raise ValueError(f"{self._label}: expected {len(self.params)} weight arrays, got {len(weights)}")
        for (key, param), value in zip(self.params.items(), weights):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(f"{self._label}: weight {key!r} has shape {param.shape}, got {value.shape}")
            param[...] = value

    def replica(self) -> Any:
        """A copy for training another part of a batch at once: the same weights, everything else its own.

        A deep copy sharing only ``params`` (the dict and its arrays), with zeroed ``grads``, so
        caches and buffers a layer keeps, wherever it keeps them, are never shared.
        """
        memo = {id(self.params): self.params, **{id(p): p for p in self.params.values()}}
        clone = copy.deepcopy(self, memo)
        for grad in clone.grads.values():
            grad[...] = 0
        clone._Z = clone._Y = None
        return clone
