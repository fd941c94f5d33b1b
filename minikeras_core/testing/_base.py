"""Shared machinery of the conformance checks: the check table, outcomes, cases, and building plugins.

A check is a function ``check(subject)`` registered with ``@check("kind")`` under its own name,
which must start with the kind (``activation_...``). It raises :class:`Mismatch` (through
:func:`expect`) when the plugin breaks the contract, and :class:`NotApplicable` when the point
it verifies does not concern this plugin (a layer without weights has no weight gradients to
check); any other exception a plugin raises inside a check is a failure too. The runner turns
these into a message naming the check, the plugin, and what was expected and found, or the
reason the check was skipped.
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Kinds in the order the runner checks them; every kind of plugin the registry knows is listed.
CHECKED_KINDS = ("activation", "layer", "loss", "optimizer", "metric", "initializer", "strategy")

_CHECKS: dict[str, dict[str, Callable[[Subject], None]]] = {kind: {} for kind in CHECKED_KINDS}


def declaration_check(kind: str) -> str:
    """The name of the check that a plugin's ``conformance_cases`` let the other checks run."""
    return f"{kind}_conformance_cases_declared"


def expected_failures_check(kind: str) -> str:
    """The name of the check that every key of ``expected_failures`` is a real check name."""
    return f"{kind}_expected_failures_name_known_checks"


def check(kind: str) -> Callable:
    """Register the decorated function as a check of ``kind``, named after the function."""

    def decorate(function: Callable[[Subject], None]) -> Callable[[Subject], None]:
        name = function.__name__
        if not name.startswith(kind + "_"):
            raise ValueError(f"check {name!r} must start with {kind + '_'!r}")
        _CHECKS[kind][name] = function
        return function

    return decorate


def checks_of(kind: str) -> dict[str, Callable[[Subject], None]]:
    """The checks of ``kind`` (after its module is imported), by name, in definition order."""
    return dict(_CHECKS.get(kind, {}))


class Mismatch(Exception):
    """Raised inside a check: the plugin gave ``found`` where the contract says ``expected``."""

    def __init__(self, expected: str, found: str) -> None:
        super().__init__(f"expected {expected}; found {found}")
        self.expected = expected
        self.found = found


class NotApplicable(Exception):
    """Raised inside a check: what it verifies does not concern this plugin; the message says why.

    Keep the reason short and general ("not element-wise", "no weights"): the summary groups
    skipped checks by it. A check skipped for every case is reported SKIPPED, never PASSED.
    """


class DeclarationError(Exception):
    """The plugin's declarations do not let the checks build it; the message says what to declare."""


def expect(condition: Any, expected: str, found: Any) -> None:
    """Raise :class:`Mismatch` unless ``condition`` holds; ``found`` may be a callable, evaluated lazily."""
    if not condition:
        raise Mismatch(expected, found() if callable(found) else str(found))


@dataclass
class Subject:
    """One plugin under check with one case of constructor arguments."""

    kind: str
    name: str
    cls: type
    kwargs: dict
    case_index: int = 0
    seed: int = 0
    _rng: np.random.Generator | None = field(default=None, repr=False)

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng

    def make(self) -> Any:
        """A fresh instance built with this case's arguments (copied, so checks cannot share state)."""
        return self.cls(**_copy_kwargs(self.kwargs))

    def with_kwargs(self, kwargs: dict) -> Subject:
        """The same plugin, case index and seed with other constructor arguments."""
        return Subject(self.kind, self.name, self.cls, dict(kwargs), self.case_index, self.seed)

    def make_layer(self, dtype: Any = np.float64, seed: int = 0, *, randomize: bool = True, **overrides: Any) -> Any:
        """A fresh layer built for its ``input_size`` in ``dtype``, its weights drawn from ``seed``.

        With ``randomize`` (the default) every weight entry is then moved off its initial value
        (see :func:`randomize_weights`), so that a weight starting at ones or zeros cannot hide
        a gradient that ignores it. ``overrides`` replace constructor arguments of the case.
        """
        layer = self.cls(**_copy_kwargs({**self.kwargs, **overrides}))
        rng = np.random.default_rng(seed)
        layer.build(None, dtype=dtype, rng=rng)
        if randomize:
            randomize_weights(layer, rng)
        return layer


def randomize_weights(layer: Any, rng: np.random.Generator) -> None:
    """Replace each weight entry ``p`` by ``p * U(0.5, 1.5) + N(0, 0.1 * min(|p|, 1))``, in place.

    Zeros become ``N(0, 0.1)``; other entries keep their sign (an entry whose noise would flip
    it becomes ``p / 2``) and their order of magnitude, so a variance-like weight stays positive
    and values stay in the range the layer was written for, while no weight keeps a constant
    value (``gamma`` at ones, a bias at zeros) that would make a wrong gradient look right.
    """
    for param in layer.params.values():
        if param.dtype.kind != "f" or not param.size:
            continue
        p = param.astype(np.float64)
        spread = np.where(p == 0, 1.0, np.minimum(np.abs(p), 1.0))
        value = p * rng.uniform(0.5, 1.5, p.shape) + rng.normal(0.0, 0.1, p.shape) * spread
        param[...] = np.where((p != 0) & (np.sign(value) != np.sign(p)), p / 2, value)


def seed_for(check_name: str, case_index: int) -> int:
    """A fixed seed per check and case, so a report is reproducible and checks do not share draws."""
    return zlib.crc32(f"{check_name}/{case_index}".encode())


def _copy_kwargs(kwargs: dict) -> dict:
    return {key: (list(value) if isinstance(value, list) else value) for key, value in kwargs.items()}


def required_arguments(cls: type) -> list[str]:
    """Constructor parameters without a default (other than ``self``, ``*args``, ``**kwargs``)."""
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, p in list(parameters.items())[1:]
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def resolve_cases(kind: str, cls: type) -> list[dict]:
    """The constructor keyword sets to check ``cls`` with, or a :class:`DeclarationError` saying what to declare."""
    declared = getattr(cls, "conformance_cases", None)
    try:
        cases = declared() if callable(declared) else None
    except Exception as err:
        raise DeclarationError(f"expected conformance_cases() to return a list of dicts; found {type(err).__name__}: {err}") from err
    required = required_arguments(cls)
    example = "[{" + ", ".join(f"{r!r}: ..." for r in required) + (", " if required and kind == "layer" else "")
    example += ("'input_size': (4,)" if kind == "layer" else "") + "}]"
    if cases is None:
        if required:
            raise DeclarationError(
                f"expected a classmethod conformance_cases(cls) returning constructor keyword sets, e.g. {example}, "
                f"since the constructor needs {', '.join(required)}; found none declared on {cls.__name__}"
            )
        if kind == "layer":
            raise DeclarationError(
                "expected a classmethod conformance_cases(cls) returning constructor keyword sets that include "
                f"input_size, the shape of one sample, e.g. {example}, since a layer needs an input shape; found none "
                f"declared on {cls.__name__}"
            )
        return [{}]
    if not isinstance(cases, (list, tuple)) or not cases or not all(isinstance(c, dict) for c in cases):
        raise DeclarationError(f"expected conformance_cases() to return a non-empty list of dicts; found {cases!r}")
    cases = [dict(c) for c in cases]
    for index, case in enumerate(cases):
        missing = [r for r in required if r not in case]
        if missing:
            raise DeclarationError(
                f"expected every conformance case to give the required argument(s) {', '.join(required)}; "
                f"found case {index} {case!r} without {', '.join(missing)}"
            )
        if kind == "layer" and case.get("input_size") is None:
            raise DeclarationError(
                "expected every conformance case of a layer to include input_size, the shape of one sample, e.g. (4,); "
                f"found case {index} {case!r} without it"
            )
        try:
            instance = cls(**_copy_kwargs(case))
            if kind == "layer":
                instance.build(None, dtype=np.float64, rng=np.random.default_rng(0))
        except Exception as err:
            raise DeclarationError(
                f"expected conformance case {index} {case!r} to build; found {type(err).__name__}: {err}"
            ) from err
    return cases


def describe_case(kwargs: dict) -> str:
    """A short text for a case, for messages."""
    return "(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")" if kwargs else "()"


def compare_hand_computed_case(s: Subject, value_name: str) -> None:
    """Compare the plugin's value on its ``hand_computed_case()`` with the expected one (relative tolerance 1e-6).

    Only the first case runs it (the plugin is built with the first conformance case, or with no
    arguments); a plugin that declares no hand-computed case fails, told what to declare.
    """
    if s.case_index != 0:
        return
    declared = getattr(s.cls, "hand_computed_case", None)
    case = declared() if callable(declared) else None
    if case is None:
        raise Mismatch(
            f"a classmethod hand_computed_case(cls) returning (y_pred, y_true, expected_{value_name.replace(' ', '_')}), "
            "a small case worked out by hand",
            f"{s.cls.__name__} declares none",
        )
    y_pred, y_true, expected = case
    value = s.make()(np.asarray(y_pred, dtype=np.float64), np.asarray(y_true))
    expect(np.isclose(value, float(expected), rtol=1e-6, atol=1e-12), f"the hand-computed {value_name} {float(expected):.10g}",
           f"{value:.10g}")


def expect_value_error(call: Callable[[], Any], expected: str) -> None:
    """Raise :class:`Mismatch` unless ``call()`` raises ``ValueError`` (any other outcome is named in the message)."""
    try:
        out = call()
    except ValueError:
        return
    except Exception as err:
        raise Mismatch(expected, f"{type(err).__name__}: {err}") from err
    raise Mismatch(expected, f"no error, a result of shape {np.shape(out)}")
