"""The Optimizer protocol: in-place weight updates from gradients, with state per weight, and Keras's common arguments."""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ._config import Plugin
from ._optimizer_arguments import COMMON_ARGUMENTS, OptimizerMeta, optional_non_negative, set_common_arguments
from .arguments import positive_number
from .registry import register_kind

ACCUMULATOR = "gradient_accumulator"  # the state key of the gradient sum under gradient_accumulation_steps


class Optimizer(Plugin, ABC, metaclass=OptimizerMeta):
    """An optimizer updates a list of weight arrays in place from their gradients.

    Implement ``update(param, grad, state)`` for one weight: change ``param`` in place using
    ``grad`` and the dict ``state``, whose arrays ``create_state(param)`` made (default: none).
    ``self.iterations`` counts the steps taken, already increased for the step in progress (so
    it is ``t``, from 1, in Adam's bias correction) and ``self.learning_rate`` is the rate in
    force. State belongs to a weight's position in the list given to ``apply``, is kept in the
    weight's dtype, and can be read out and restored with ``get_state`` / ``set_state``.

    ``apply`` does what Keras 3's base optimizer does around each rule, so every optimizer has it:
    the gradients are averaged over ``gradient_accumulation_steps`` calls (the weights move, and
    ``iterations`` grows, at every n-th call only), then clipped (``clipnorm``: each array's
    gradient to that L2 norm; ``global_clipnorm``: all gradients together to that norm;
    ``clipvalue``: each entry to ``[-v, v]``; at most one of the three, 0 meaning off), then
    ``w = w * (1 - weight_decay * lr)`` (decoupled weight decay), and then ``update``. The
    gradients given are never changed. Keras's ``use_ema`` and ``loss_scale_factor`` are
    refused (``NotImplementedError``).

    Set the class attribute ``elementwise = True`` when each entry's update depends on that entry
    (and its own state) alone, as in SGD, Adam, AdaGrad or RMSprop: the model may then hand the
    optimizer all weights as one flat array (and the gradients as another), so ``apply`` gets a
    single weight and ``get_state`` has a single slot, shaped ``(number of weights,)``. An
    instance with ``clipnorm`` set is not element-wise (each array's norm needs the arrays apart):
    its ``elementwise`` reads False.
    """

    #: True when the update of each entry depends only on that entry's gradient and state, so
    #: the model may update all weights as one flat array.
    elementwise: bool = False

    # Defaults for an optimizer whose __init__ never reached Optimizer.__init__.
    weight_decay = clipvalue = global_clipnorm = ema_overwrite_frequency = loss_scale_factor = None
    gradient_accumulation_steps = name = _clipnorm = None
    use_ema, ema_momentum, _accumulated = False, 0.99, 0

    def __init__(self, learning_rate: float = 0.01, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn(f"{owner}: argument decay is no longer supported (as in Keras 3) and is ignored", stacklevel=2)
            getattr(self, "_init_arguments", {}).pop("decay", None)
        if kwargs:
            raise ValueError(f"{owner}: argument(s) not recognized: {sorted(kwargs)}")
        self.learning_rate = positive_number(learning_rate, "learning_rate", owner)
        self.iterations = 0
        self.state: list[dict[str, np.ndarray]] = []
        set_common_arguments(self, dict(zip(COMMON_ARGUMENTS, (
            weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            loss_scale_factor, gradient_accumulation_steps, name))))

    @property
    def clipnorm(self) -> float | None:
        """The L2 norm each weight's gradient is clipped to (None or 0: no clipping)."""
        return self._clipnorm

    @clipnorm.setter
    def clipnorm(self, value: float | None) -> None:
        self._clipnorm = optional_non_negative(value, "clipnorm", type(self).__name__)
        if self._clipnorm:
            self.elementwise = False  # shadows the class's declaration for this instance
        else:
            self.__dict__.pop("elementwise", None)

    def get_config(self) -> dict:
        """Return the constructor arguments, with the learning rate and common arguments now in force."""
        config = super().get_config()
        config["learning_rate"] = self.learning_rate
        config.update({key: getattr(self, key) for key in COMMON_ARGUMENTS if key in config and key != "name"})
        return config

    def create_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """Return the state arrays for one weight (for example ``{"m": zeros, "v": zeros}``)."""
        return {}

    def _new_slot(self, param: np.ndarray) -> dict[str, np.ndarray]:
        slot = self.create_state(param)
        if self.gradient_accumulation_steps:
            slot[ACCUMULATOR] = np.zeros_like(param)
        return slot

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
            self.state = [self._new_slot(p) for p in params]
            self._state_shapes = [p.shape for p in params]
        for index, (param, grad) in enumerate(zip(params, grads)):
            if grad.shape != param.shape:
                raise ValueError(f"{type(self).__name__}: gradient {index} has shape {grad.shape}, its weight {param.shape}")
        steps = self.gradient_accumulation_steps
        if steps:
            for grad, slot in zip(grads, self.state):
                slot[ACCUMULATOR] += grad
            self._accumulated += 1
            if self._accumulated < steps:
                return
            grads = [np.divide(slot[ACCUMULATOR], steps, out=slot[ACCUMULATOR]) for slot in self.state]
        self.iterations += 1
        scales = self._clip_scales(grads)
        decay = 1.0 - self.weight_decay * self.learning_rate if self.weight_decay else None
        scratch = self.__dict__.get("_clip_scratch") or self.__dict__.setdefault("_clip_scratch", ScratchBuffers())
        for param, grad, slot, scale in zip(params, grads, self.state, scales):
            if self.clipvalue:
                grad = np.clip(grad, -self.clipvalue, self.clipvalue, out=scratch(param))
            elif scale is not None:
                grad = np.multiply(grad, scale, out=scratch(param))
            if decay is not None:
                param *= decay
            self.update(param, grad, slot)
        if steps:
            for slot in self.state:
                slot[ACCUMULATOR][...] = 0
            self._accumulated = 0

    def _clip_scales(self, grads: list[np.ndarray]) -> list[float | None]:
        """The factor each gradient is scaled by for ``clipnorm`` / ``global_clipnorm`` (None: unchanged).

        As Keras: ``g * c / max(norm, c)``, by each array's norm or by the norm of all together;
        a norm within ``c`` leaves the gradient exactly as it is.
        """
        norms = [math.sqrt(float(np.vdot(g, g))) for g in grads] if (self.clipnorm or self.global_clipnorm) else []
        if self.clipnorm:
            return [self.clipnorm / n if not n <= self.clipnorm else None for n in norms]
        if self.global_clipnorm:
            total = math.sqrt(sum(n * n for n in norms))
            scale = self.global_clipnorm / total if not total <= self.global_clipnorm else None
            return [scale] * len(grads)  # a NaN or infinite norm gives NaN weights, as in Keras
        return [None] * len(grads)

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras's form: one step from ``(gradient, weight)`` pairs."""
        grads, params = zip(*grads_and_vars)
        self.apply(list(params), list(grads))

    def _shapes(self) -> list[tuple]:
        return list(getattr(self, "_state_shapes", []))

    def get_state(self) -> dict:
        """Return the step count and every state array (copies), to save and restore training exactly."""
        return {
            "iterations": self.iterations,
            "accumulated": self._accumulated,
            "shapes": [list(s) for s in self._shapes()],
            "slots": [{k: v.copy() for k, v in s.items()} for s in self.state],
        }

    def set_state(self, state: dict) -> None:
        """Restore what ``get_state`` returned; slots holding other arrays than ``create_state`` makes are a ``ValueError``."""
        expected = sorted(self._new_slot(np.zeros(1)))
        for index, slot in enumerate(state["slots"]):
            if sorted(slot) != expected:
                raise ValueError(
                    f"{type(self).__name__}.set_state: slot {index} holds {sorted(slot)}, expected {expected} "
                    "(state saved by another optimizer or another version of it)"
                )
        self.iterations = int(state["iterations"])
        self._accumulated = int(state.get("accumulated", 0))
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
