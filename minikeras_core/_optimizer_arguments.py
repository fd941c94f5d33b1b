"""Keras 3's arguments common to every optimizer: their names and order, their checks, and taking them for any optimizer."""

from __future__ import annotations

import inspect
import math
from abc import ABCMeta
from typing import Any

import numpy as np

#: The arguments every Keras 3 optimizer takes after its own, in Keras's order.
COMMON_ARGUMENTS = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
                    "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "name")


class OptimizerMeta(ABCMeta):
    """Lets every optimizer take Keras's common arguments, also one whose ``__init__`` does not list them.

    A third party's ``__init__(self, learning_rate=0.01, beta=0.5)`` that calls
    ``super().__init__(learning_rate)`` still accepts ``clipnorm=1.0``: the arguments of
    ``COMMON_ARGUMENTS`` it neither lists nor takes through ``**kwargs`` are set after it ran.
    """

    def __call__(cls, *args: Any, **kwargs: Any):
        parameters = inspect.signature(cls.__init__).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return super().__call__(*args, **kwargs)
        common = {key: kwargs.pop(key) for key in COMMON_ARGUMENTS if key in kwargs and key not in parameters}
        optimizer = super().__call__(*args, **kwargs)
        if common:
            set_common_arguments(optimizer, {**{k: getattr(optimizer, k) for k in COMMON_ARGUMENTS}, **common})
            optimizer._init_arguments.update(common)
        return optimizer


def set_common_arguments(optimizer: Any, values: dict) -> None:
    """Check Keras's common arguments (``values``, by name) and set them on ``optimizer``; what is not supported is refused."""
    owner = type(optimizer).__name__
    clipping = {k: values[k] for k in ("clipnorm", "clipvalue", "global_clipnorm") if values[k] is not None}
    if len(clipping) > 1:
        raise ValueError(f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can be set, got {clipping}")
    for key in ("weight_decay", "clipvalue", "global_clipnorm"):
        setattr(optimizer, key, optional_non_negative(values[key], key, owner))
    optimizer.clipnorm = values["clipnorm"]
    if values["use_ema"]:
        raise NotImplementedError(f"{owner}: use_ema={values['use_ema']!r}: a moving average of the weights is not supported; expected False")
    if values["loss_scale_factor"] is not None:
        raise NotImplementedError(f"{owner}: loss_scale_factor={values['loss_scale_factor']!r}: Mini-Keras does no loss scaling; expected None")
    optimizer.ema_momentum, optimizer.ema_overwrite_frequency = values["ema_momentum"], values["ema_overwrite_frequency"]
    steps = values["gradient_accumulation_steps"]
    if steps and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2):
        raise ValueError(f"{owner}: gradient_accumulation_steps: expected an integer >= 2 or None, got {steps!r}")
    optimizer.gradient_accumulation_steps = int(steps) if steps else None
    name = values["name"]
    if name is not None and not isinstance(name, str):
        raise ValueError(f"{owner}: name: expected a string or None, got {name!r}")
    optimizer.name = name if name is not None else owner.lower()


def optional_non_negative(value: Any, argument: str, owner: str) -> float | None:
    """``None``, or ``value`` as a finite ``float`` >= 0."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"{owner}: {argument}: expected None or a number >= 0, got {value!r}")
    return number
