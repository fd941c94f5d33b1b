"""Reading ``compile`` and ``fit`` arguments written the seed's way or Keras's way, never one as the other.

The original Mini-Keras wrote ``compile(loss, optimizer)`` and ``fit(X, y, n_epochs, batch_size,
...)``; Keras writes ``compile(optimizer, loss)`` and ``fit(x, y, batch_size, epochs, ...)``.
Positional arguments are read by what they are: a loss and an optimizer can be told apart by
kind, so either order of ``compile`` works; a third positional argument of ``fit`` (a number
either way) cannot, so it is an error that says both readings. Keras's arguments that change
nothing here (``jit_compile``, ``run_eagerly``, ...) are accepted; those asking for something not
supported (sample weights) are refused by name.
"""

from __future__ import annotations

from typing import Any

from ..loss import Loss
from ..optimizer import Optimizer
from ..registry import has_plugin
from .data import refuse_unsupported

#: ``compile`` arguments of Keras that do not change the numbers here.
IGNORED_COMPILE = {"run_eagerly": None, "steps_per_execution": None, "jit_compile": None, "auto_scale_loss": None}


def _is(kind: str, base: type, value: Any) -> bool:
    """Whether ``value`` is (or names) a plugin of ``kind``."""
    if isinstance(value, base) or (isinstance(value, type) and issubclass(value, base)):
        return True
    return isinstance(value, str) and has_plugin(kind, value)


def compile_arguments(args: tuple, loss: Any, optimizer: Any, metrics: Any, extras: dict) -> tuple[Any, Any, Any]:
    """``(loss, optimizer, metrics)`` from ``compile``'s positional ``args`` and keywords, in the seed's or Keras's order."""
    refuse_unsupported("compile", extras, allowed=tuple(IGNORED_COMPILE))
    if len(args) > 2:
        raise TypeError(
            f"compile(): got {len(args)} positional arguments; the original Mini-Keras reads the third as metrics and "
            "Keras as loss_weights: pass loss=, optimizer= and metrics= by keyword"
        )
    if args and len(args) == 1 and loss is None and optimizer is None:
        args = (args[0], None)  # compile(BinaryCrossEntropy()) or Keras's compile("adam") (no loss: refused below)
    if len(args) == 1:  # the other one is a keyword: the positional is what is missing
        args = (args[0], optimizer) if loss is None else (loss, args[0])
        loss, optimizer = None, None
    if args:
        if loss is not None or optimizer is not None:
            raise TypeError("compile(): give the loss and the optimizer either by position or by keyword, not both")
        first, second = args
        seed = _is("loss", Loss, first) and (second is None or _is("optimizer", Optimizer, second))
        keras = _is("optimizer", Optimizer, first) and (second is None or _is("loss", Loss, second))
        if seed and keras:
            raise TypeError(
                f"compile(): {first!r} names both a loss and an optimizer, so compile({first!r}, ...) could be read as "
                "compile(loss, optimizer) (the original Mini-Keras) or compile(optimizer, loss) (Keras): pass loss= and optimizer= by keyword"
            )
        if keras:
            optimizer, loss = first, second
        elif seed:
            loss, optimizer = first, second
        else:
            raise TypeError(
                f"compile(): expected compile(loss, optimizer) as the original Mini-Keras or compile(optimizer, loss) as Keras; "
                f"got {first!r} and {second!r}, which are not a loss and an optimizer in either order"
            )
    if loss is None:
        raise TypeError("compile(): a loss is needed: compile(optimizer=..., loss=...) or compile(loss, optimizer=...)")
    return loss, optimizer, metrics


def fit_arguments(args: tuple, extras: dict) -> None:
    """Refuse a third positional argument of ``fit`` (``n_epochs`` for the seed, ``batch_size`` for Keras) and unsupported keywords."""
    if args:
        raise TypeError(
            f"fit(): got {len(args) + 2} positional arguments; after X and y the original Mini-Keras reads n_epochs, "
            "batch_size, ... and Keras reads batch_size, epochs, ...: pass them by keyword (epochs=..., batch_size=...)"
        )
    refuse_unsupported("fit", extras, allowed=("validation_steps", "steps_per_epoch"))
