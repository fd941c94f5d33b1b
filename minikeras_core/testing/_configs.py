"""The config checks' shared part: a JSON round trip of ``get_config()``, on each case and with non-default arguments.

Configs record every constructor argument, defaults included, so a saved model rebuilds the
same plugin even if a later version changes a default. Each config check therefore runs twice
per case: on the case as declared, and on a variant where every argument that has a default in
the constructor's signature (and that the case leaves at it) takes another value that still
works: a bool flipped, a number changed, ``None`` replaced where a value is obvious (``name``,
an activation, an initializer, ``dtype``, ``seed``), a string or a tuple of ints only where a
value is found that works. A value "works" when the plugin builds with it and does its basic
job (a layer's forward pass, an activation's ``eval``, a loss's value, an optimizer's step).
An argument dropped on the way (``from_config`` ignoring it, ``get_config`` leaving it out)
then shows as another output or another config.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from ._base import Mismatch, Subject, describe_case, expect

#: Values tried, in order, for an argument whose default is a string of this form (or whose name says what it is).
_STRING_ALTERNATIVES = {
    "valid": ["same"], "same": ["valid"], "channels_last": ["channels_first"], "channels_first": ["channels_last"],
    "mean": ["sum"], "sum": ["mean"], "max": ["avg", "mean"], "avg": ["max"],
    "fan_in": ["fan_avg"], "fan_avg": ["fan_in"], "fan_out": ["fan_in"],  # an initializer's mode and distribution
    "truncated_normal": ["uniform"], "untruncated_normal": ["uniform"], "uniform": ["truncated_normal"],
}
_ACTIVATIONS = ["sigmoid", "tanh", "relu"]
_INITIALIZERS = ["he_normal", "glorot_normal", "ones"]
_OBVIOUS_FOR_NONE = {"name": ["conformance_check"], "dtype": ["float64"], "seed": [1]}


def config_round_trip(plugin: Any) -> tuple[dict, Any]:
    """``plugin.get_config()`` through JSON and back, and the plugin ``from_config`` rebuilds from it."""
    try:
        text = json.dumps(plugin.get_config())
    except TypeError as err:
        raise Mismatch("a JSON-ready get_config()", f"{type(err).__name__}: {err}") from err
    config = json.loads(text)
    return config, type(plugin).from_config(json.loads(text))


def signature_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The constructor's named parameters (no ``self``, ``*args`` or ``**kwargs``)."""
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return {}
    return {p.name: p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def alternatives(name: str, default: Any) -> list:
    """Non-default values to try for the argument ``name`` whose default is ``default``, most plausible first."""
    lowered = name.lower()
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, int):
        return [v for v in (default + 1, default + 2, 2 * default + 3) if v != default]
    if isinstance(default, float):
        if default != default or default in (float("inf"), float("-inf")):
            return []
        return [default / 2, default * 2, default + 0.1] if default else [0.1, 0.5]
    if default is None:
        if "activation" in lowered:
            return ["tanh", "sigmoid"]
        if "initializer" in lowered:
            return list(_INITIALIZERS)
        return list(_OBVIOUS_FOR_NONE.get(lowered, []))
    if isinstance(default, str):
        if "activation" in lowered:
            return [a for a in _ACTIVATIONS if a != default]
        if "initializer" in lowered:
            return [i for i in _INITIALIZERS if i != default]
        return list(_STRING_ALTERNATIVES.get(default.lower(), []))
    if isinstance(default, (tuple, list)) and default and all(isinstance(v, int) and not isinstance(v, bool) for v in default):
        return [type(default)(v + 1 for v in default), type(default)(max(1, v - 1) for v in default)]
    return []


def non_default_kwargs(s: Subject, works: Callable[[Subject], Any]) -> dict | None:
    """The case with every defaulted argument it leaves at its default moved to another value that works, or ``None``.

    Arguments are changed one at a time, each kept only if the plugin still works with it and
    every change before it.
    """
    kwargs = dict(s.kwargs)
    changed = False
    for name, parameter in signature_parameters(s.cls).items():
        default = parameter.default
        if default is inspect.Parameter.empty or (name in kwargs and kwargs[name] != default):
            continue
        for value in alternatives(name, default):
            trial = {**kwargs, name: value}
            try:
                works(s.with_kwargs(trial))
            except Exception:  # noqa: BLE001 - this value does not suit the plugin: try the next
                continue
            kwargs, changed = trial, True
            break
    return kwargs if changed else None


def expect_every_argument_recorded(plugin: Any, config: dict) -> None:
    """Every named constructor parameter appears in ``config`` (defaults included)."""
    missing = [name for name in signature_parameters(type(plugin)) if name not in config]
    expect(not missing, "get_config() to record every constructor argument, defaults included",
           lambda: f"no {', '.join(missing)} in {config}")


def check_config(s: Subject, make: Callable[[Subject], Any], same: Callable[[Any, Any], None],
                 works: Callable[[Subject], Any]) -> None:
    """Round-trip the plugin ``make`` builds, on the case and on its non-default variant.

    ``same(first, rebuilt)`` raises :class:`Mismatch` when the rebuilt plugin behaves otherwise.
    """
    variants = [(s, "")]
    changed = non_default_kwargs(s, works)
    if changed is not None:
        variants.append((s.with_kwargs(changed), f" (built with non-default arguments {describe_case(changed)})"))
    for subject, label in variants:
        try:
            first = make(subject)
            config, second = config_round_trip(first)
            expect_every_argument_recorded(first, config)
            again = json.loads(json.dumps(second.get_config()))
            expect(again == config, f"the rebuilt plugin's config {config}", again)
            same(first, second)
        except Mismatch as err:
            raise Mismatch(err.expected + label, err.found) from None
        except Exception as err:
            raise Mismatch("no error" + label, f"{type(err).__name__}: {err}") from err
