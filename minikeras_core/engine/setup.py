"""How a model's training steps run, decided once per (optimizer, layers, weights) combination.

Either the optimizer updates one flat vector of all the weights (see :mod:`.flat`) or one array
per weight; and the parts of a batch past the first train through replicas of the layers (see
:mod:`.parallel`). Both are set up once and reused step after step; a change of optimizer, of
layers or of their weight arrays (identity compared), or a flat buffer broken since
(``set_weights`` of new arrays, a deep copy), sets them up anew.
"""

from __future__ import annotations

from ..layer import Layer
from ..optimizer import Optimizer
from .flat import FlatBuffer, can_flatten, flatten_optimizer_state
from .parallel import Replicas


class StepSetup:
    """``params`` and ``grads``: what the optimizer updates and with what; ``replicas`` for the other parts of a batch."""

    def __init__(self, layers: list[Layer], optimizer: Optimizer) -> None:
        self.key = _key(layers, optimizer)
        self.flat = FlatBuffer(layers) if can_flatten(layers, optimizer) else None
        if self.flat is not None:
            flatten_optimizer_state(optimizer, self.flat.shapes)
            self.params, self.grads = [self.flat.params], [self.flat.grads]
        else:
            self.params = [layer.params[name] for layer in layers for name in layer.trainable_names()]
            self.grads = [layer.grads[name] for layer in layers for name in layer.trainable_names()]
        self.replicas = Replicas(layers, self.flat)

    @classmethod
    def reuse(cls, previous: StepSetup | None, layers: list[Layer], optimizer: Optimizer) -> StepSetup:
        """``previous`` when it still fits ``layers`` and ``optimizer``, else a new setup."""
        if previous is not None and previous.fits(layers, optimizer):
            return previous
        return cls(layers, optimizer)

    def fits(self, layers: list[Layer], optimizer: Optimizer) -> bool:
        key = _key(layers, optimizer)
        same = len(key) == len(self.key) and all(a is b for a, b in zip(key, self.key))
        return same and (self.flat is None or self.flat.intact(layers))


__all__ = ["StepSetup"]


def _key(layers: list[Layer], optimizer: Optimizer) -> list:
    """What a setup depends on, compared by identity: the optimizer, the layers, their weight dicts, which layers train."""
    return [optimizer, *layers, *(layer.params for layer in layers), *(bool(layer.trainable) for layer in layers)]
