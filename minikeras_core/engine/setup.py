"""How a model's training steps run, decided once per (optimizer, layers, weights) combination.

Either the optimizer updates one flat vector of all the weights (see :mod:`.flat`) or one array
per weight; and the parts of a batch past the first train through replicas of the layers (see
:mod:`.parallel`). Both are set up once and reused step after step; a change of optimizer, of
layers, of which layers train, or of a layer's weight or gradient dicts or the arrays in them
(identity compared: ``set_weights`` copies into the arrays and changes none) sets them up anew.
"""

from __future__ import annotations

from ..layer import Layer
from ..optimizer import Optimizer
from .flat import FlatBuffer, can_flatten, flatten_optimizer_state
from .parallel import Replicas


class StepSetup:
    """``params`` and ``grads``: what the optimizer updates and with what; ``replicas`` for the other parts of a batch."""

    def __init__(self, layers: list[Layer], optimizer: Optimizer) -> None:
        self.optimizer, self.layers, self.held = optimizer, list(layers), _held(layers)
        self.flat = FlatBuffer(layers) if can_flatten(layers, optimizer) else None
        if self.flat is not None:
            flatten_optimizer_state(optimizer, self.flat.shapes)
            self.params, self.grads = [self.flat.params], [self.flat.grads]
            self._arrays = self.flat.views
        else:
            self._arrays = [(layer.params, layer.grads, name, layer.params[name], layer.grads[name])
                            for layer in layers for name in layer.trainable_names()]
            self.params, self.grads = [a[3] for a in self._arrays], [a[4] for a in self._arrays]
        self.replicas = Replicas(layers, self.flat)

    @classmethod
    def reuse(cls, previous: StepSetup | None, layers: list[Layer], optimizer: Optimizer) -> StepSetup:
        """``previous`` when it still fits ``layers`` and ``optimizer``, else a new setup."""
        if previous is not None and previous.fits(layers, optimizer):
            return previous
        if previous is not None and previous.optimizer is optimizer and optimizer.iterations:
            _refuse_changed_trainable(previous, layers)
        return cls(layers, optimizer)

    def fits(self, layers: list[Layer], optimizer: Optimizer) -> bool:
        """Asked before every step, so identity tests only: the same optimizer, layers, weight and gradient dicts, trainable
        flags and counts of gradients, and the same arrays in those dicts (the flat buffer's views, or the arrays updated)."""
        if optimizer is not self.optimizer or len(layers) != len(self.layers):
            return False
        for layer, known, (params, grads, trainable, count) in zip(layers, self.layers, self.held):
            if layer is not known or layer.params is not params or layer.grads is not grads or bool(layer.trainable) is not trainable \
                    or len(grads) != count:
                return False
        # every weight and gradient still the array updated (a view of the flat buffer, if any): replacing one in its
        # layer's dict breaks that, set_weights (which copies into them) does not
        return all(params.get(name) is param and grads.get(name) is grad for params, grads, name, param, grad in self._arrays)


__all__ = ["StepSetup"]


def _held(layers: list[Layer]) -> list[tuple]:
    """What a setup depends on in each layer: its weight and gradient dicts, whether it trains, how many gradients it has."""
    return [(layer.params, layer.grads, bool(layer.trainable), len(layer.grads)) for layer in layers]


def _refuse_changed_trainable(previous: StepSetup, layers: list[Layer]) -> None:
    """A layer frozen or thawed after the optimizer's first step: its state no longer lines up with the weights it updates."""
    changed = [layer.name or type(layer).__name__ for layer, (_, _, trainable, _) in zip(layers, previous.held)
               if bool(layer.trainable) is not trainable]
    if changed and len(layers) == len(previous.layers) and all(a is b for a, b in zip(layers, previous.layers)):
        raise ValueError(f"the trainable weights changed after {type(previous.optimizer).__name__} took its first step (trainable "
                         f"switched on layer(s) {', '.join(changed)}); call compile() again with a new optimizer, as Keras asks "
                         "after a change of trainable")
