"""Checks of constructor and call arguments, shared by the core and by plugins.

Each returns the value converted (``int`` or ``float``) or raises a ``ValueError`` that names
the owner (a layer, an optimizer, a method), the argument, what it got and what it expected.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _message(owner: str | None, argument: str, expected: str, value: Any) -> str:
    return f"{owner + ': ' if owner else ''}{argument}: expected {expected}, got {value!r}"


def positive_int(value: Any, argument: str, owner: str | None = None) -> int:
    """``value`` as an ``int`` > 0 (``True`` and ``2.0`` are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(_message(owner, argument, "a positive integer", value))
    return int(value)


def non_negative_int(value: Any, argument: str, owner: str | None = None) -> int:
    """``value`` as an ``int`` >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(_message(owner, argument, "a non-negative integer", value))
    return int(value)


def positive_number(value: Any, argument: str, owner: str | None = None) -> float:
    """``value`` as a finite ``float`` > 0 (a learning rate, an epsilon)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(_message(owner, argument, "a positive number", value)) from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(_message(owner, argument, "a positive number", value))
    return number


def fraction(value: Any, argument: str, owner: str | None = None, *, include_one: bool = False) -> float:
    """``value`` as a ``float`` in ``[0, 1)`` (a decay rate), or ``[0, 1]`` with ``include_one``."""
    interval = "[0, 1]" if include_one else "[0, 1)"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(_message(owner, argument, f"a number in {interval}", value)) from None
    if not (0.0 <= number < 1.0 or (include_one and number == 1.0)):
        raise ValueError(_message(owner, argument, f"a number in {interval}", value))
    return number


def as_shape(shape: Any, argument: str, owner: str) -> tuple:
    """``(4, 3)`` as a tuple of positive ints (an int ``n`` as ``(n,)``); anything else is a ``ValueError``."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        result = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {argument} must be a tuple of positive ints, got {shape!r}") from None
    if any(s <= 0 for s in result) or any(float(s) != float(t) for s, t in zip(result, shape)):
        raise ValueError(f"{owner}: {argument} must be a tuple of positive ints, got {shape!r}")
    return result


def refuse_unsupported(owner: str, values: dict[str, Any], why: str) -> None:
    """Raise a ``ValueError`` for the first of Keras's arguments ``values`` (name: value) not left at ``None``.

    For arguments a layer takes because Keras's signature has them but cannot honour
    (regularizers, constraints): ``why`` says what is missing, as ``"no regularizers or constraints"``.
    """
    for argument, value in values.items():
        if value is not None:
            raise ValueError(f"{owner}: {argument}={value!r} is not supported ({why}); leave it at its default")


def refuse_regularizers(owner: str, arguments: dict[str, Any], why: str = "no regularizers or constraints", **also: Any) -> None:
    """:func:`refuse_unsupported` for every ``*_regularizer`` and ``*_constraint`` in ``arguments`` (a constructor's
    ``locals()``), then for ``also``: more of Keras's arguments, each given as ``None`` when left at its default."""
    named = {key: value for key, value in arguments.items() if key.endswith(("_regularizer", "_constraint"))}
    refuse_unsupported(owner, {**named, **also}, why)


def axis_tuple(axis: Any, owner: str, *, single: bool = False) -> tuple[int, ...]:
    """An ``axis`` argument (an int, or unless ``single`` a tuple or list of them) as a tuple of ints."""
    values = tuple(axis) if isinstance(axis, (tuple, list)) and not single else (axis,)
    if not values or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in values):
        raise ValueError(_message(owner, "axis", "an int" if single else "an int or a tuple of ints", axis))
    return tuple(int(a) for a in values)


def sample_axes(label: str, axis: Any, input_shape: tuple, why: str) -> tuple[int, ...]:
    """The axes :func:`axis_tuple` gives, counted as Keras counts them (batch axis 0, ``-1`` the last) for inputs of
    ``input_shape`` per sample: distinct axes from 1 up, sorted; else a ``ValueError`` ending with ``why``,
    the reason the batch axis cannot be among them."""
    rank = len(input_shape) + 1
    values = axis_tuple(axis, label)
    resolved = sorted({a + rank if a < 0 else a for a in values})
    if any(not 0 < a < rank for a in resolved) or len(resolved) != len(values):
        raise ValueError(f"{label}: axis={axis!r} must name distinct axes 1..{rank - 1} (or -{rank - 1}..-1) of inputs of "
                         f"shape (batch, {', '.join(map(str, input_shape))}); {why}")
    return tuple(resolved)
