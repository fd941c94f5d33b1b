"""The Optimizer protocol: in-place weight updates from gradients, with state per weight."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ._config import Plugin
from .arguments import positive_number
from .registry import register_kind


class Optimizer(Plugin, ABC):
    """An optimizer updates a list of weight arrays in place from their gradients.

    Implement ``update(param, grad, state)`` for one weight: change ``param`` in place using
    ``grad`` and the dict ``state``, whose arrays ``create_state(param)`` made (default: none).
    ``self.iterations`` counts the steps taken, already increased for the step in progress (so
    it is ``t``, from 1, in Adam's bias correction) and ``self.learning_rate`` is the rate in
    force. State belongs to a weight's position in the list given to ``apply``, is kept in the
    weight's dtype, and can be read out and restored with ``get_state`` / ``set_state``.

    Set the class attribute ``elementwise = True`` when each entry's update depends on that entry
    (and its own state) alone, as in SGD, Adam, AdaGrad or RMSprop: the model may then hand the
    optimizer all weights as one flat array (and the gradients as another), so ``apply`` gets a
    single weight and ``get_state`` has a single slot, shaped ``(number of weights,)``.
    """

    #: True when the update of each entry depends only on that entry's gradient and state, so
    #: the model may update all weights as one flat array.
    elementwise: bool = False

    def __init__(self, learning_rate: float = 0.01) -> None:
        self.learning_rate = positive_number(learning_rate, "learning_rate", type(self).__name__)
        self.iterations = 0
        self.state: list[dict[str, np.ndarray]] = []

    def get_config(self) -> dict:
        """Return the constructor arguments, with the learning rate now in force."""
        config = super().get_config()
        config["learning_rate"] = self.learning_rate
        return config

    def create_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """Return the state arrays for one weight (for example ``{"m": zeros, "v": zeros}``)."""
        return {}

    @abstractmethod
    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        """Change ``param`` in place for one step with gradient ``grad``."""

    def apply(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Take one step on every weight in ``params`` (updated in place) with ``grads``."""
        if len(params) != len(grads):
            raise ValueError(f"{type(self).__name__}: got {len(params)} weights but {len(grads)} gradients")
        if not self.state or [s for s in self._shapes()] != [p.shape for p in params]:
            if self.state and self.iterations:
                raise ValueError(
                    f"{type(self).__name__}: its state was built for weights of shapes {self._shapes()}, "
                    f"got {[p.shape for p in params]}; use a new optimizer for another model"
                )
            self.state = [self.create_state(p) for p in params]
            self._state_shapes = [p.shape for p in params]
        for index, (param, grad) in enumerate(zip(params, grads)):
            if grad.shape != param.shape:
                raise ValueError(f"{type(self).__name__}: gradient {index} has shape {grad.shape}, its weight {param.shape}")
        self.iterations += 1
        for param, grad, state in zip(params, grads, self.state):
            self.update(param, grad, state)

    def _shapes(self) -> list[tuple]:
        return list(getattr(self, "_state_shapes", []))

    def get_state(self) -> dict:
        """Return the step count and every state array (copies), to save and restore training exactly."""
        return {
            "iterations": self.iterations,
            "shapes": [list(s) for s in self._shapes()],
            "slots": [{k: v.copy() for k, v in s.items()} for s in self.state],
        }

    def set_state(self, state: dict) -> None:
        """Restore what ``get_state`` returned; slots holding other arrays than ``create_state`` makes are a ``ValueError``."""
        expected = sorted(self.create_state(np.zeros(1)))
        for index, slot in enumerate(state["slots"]):
            if sorted(slot) != expected:
                raise ValueError(
                    f"{type(self).__name__}.set_state: slot {index} holds {sorted(slot)}, expected {expected} "
                    "(state saved by another optimizer or another version of it)"
                )
        self.iterations = int(state["iterations"])
        self.state = [{k: np.array(v) for k, v in slot.items()} for slot in state["slots"]]
        self._state_shapes = [tuple(s) for s in state.get("shapes", [])]


register_kind("optimizer", "minikeras.optimizers", Optimizer)


class ScratchBuffers:
    """One scratch array per (shape, dtype), made on first use and reused at every step.

    An optimizer step on a large weight must not allocate full-size temporaries (element-wise
    numpy runs on one core, so the allocation and the extra pass over memory cost as much as
    the arithmetic). The scratch is not optimizer state: it holds nothing between steps, so it
    stays out of ``get_state`` and weights of the same shape and dtype can share one.
    """

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}

    def __call__(self, like: np.ndarray) -> np.ndarray:
        key = (like.shape, like.dtype)
        array = self._arrays.get(key)
        if array is None:
            array = self._arrays[key] = np.empty(like.shape, like.dtype)
        return array
