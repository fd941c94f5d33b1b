"""Run the conformance checks on plugins and report the results, one line per check."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import PluginError
from ..registry import _KINDS, REGISTRY, _normalize, kind_spec
from . import checks_activation, checks_layer, checks_loss, checks_metric, checks_optimizer  # noqa: F401  (register the checks)
from ._base import (
    CHECKED_KINDS,
    DeclarationError,
    Mismatch,
    Subject,
    checks_of,
    declaration_check,
    describe_case,
    expected_failures_check,
    resolve_cases,
    seed_for,
)

PASSED, FAILED, XFAILED, XPASSED, SKIPPED = "passed", "failed", "xfailed", "xpassed", "skipped"
_LABELS = {PASSED: "PASS", FAILED: "FAIL", XFAILED: "XFAIL", XPASSED: "XPASS", SKIPPED: "SKIP"}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one plugin (over all of its conformance cases).

    ``status`` is ``"passed"``, ``"failed"``, ``"xfailed"`` (failed, and listed in the plugin's
    ``expected_failures`` with ``reason``), ``"xpassed"`` (listed there but passed: a failure, so
    the list cannot go stale) or ``"skipped"`` (not run; ``message`` says why).
    """

    kind: str
    plugin: str
    check: str
    status: str
    message: str = ""
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether this result lets a run succeed (passed, expected failure, or skipped)."""
        return self.status in (PASSED, XFAILED, SKIPPED)

    def line(self) -> str:
        """One line: status, ``kind:plugin`` and check name."""
        return f"{_LABELS[self.status]:<5}  {self.kind}:{self.plugin}  {self.check}"


@dataclass(frozen=True)
class Target:
    """A plugin to check: its kind, the name it is known by, and its class (``None`` when not loadable)."""

    kind: str
    name: str
    cls: type | None
    note: str = ""


def check_names(kind: str) -> list[str]:
    """Every check of ``kind`` in the order they run, the two declaration checks included."""
    kind = kind_spec(kind).kind
    if kind not in CHECKED_KINDS:
        return []
    return [declaration_check(kind), *checks_of(kind), expected_failures_check(kind)]


def all_check_names() -> dict[str, list[str]]:
    """The check names of every kind that has checks."""
    return {kind: check_names(kind) for kind in CHECKED_KINDS}


def _label(kind: str, name: str, cls: type) -> str:
    return f"{kind} plugin {name!r} ({cls.__module__}.{cls.__qualname__})"


def _describe_error(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"expected no error; found {type(err).__name__}: {err}{where}"


def _expected_failures(cls: type) -> dict:
    value = getattr(cls, "expected_failures", None) or {}
    return value if isinstance(value, dict) else {}


def run_check(kind: str, cls: type, check: str, name: str | None = None) -> CheckResult:
    """Run the check named ``check`` on the plugin class ``cls`` over all its conformance cases."""
    kind = kind_spec(kind).kind
    name = name or REGISTRY.name_of(cls)
    label = _label(kind, name, cls)
    if check == expected_failures_check(kind):
        declared = getattr(cls, "expected_failures", None)
        if declared is None:
            declared = {}
        if not isinstance(declared, dict):
            return CheckResult(kind, name, check, FAILED,
                               f"{check} failed for {label}: expected expected_failures to be a dict "
                               f"{{check name: reason}}; found {type(declared).__name__}")
        known = set(check_names(kind))
        unknown = sorted(str(k) for k in declared if k not in known)
        if unknown:
            return CheckResult(kind, name, check, FAILED,
                               f"{check} failed for {label}: expected expected_failures to name checks of a {kind} "
                               f"(see `minikeras check --list`); found unknown name(s) {', '.join(unknown)}")
        return CheckResult(kind, name, check, PASSED)
    try:
        cases = resolve_cases(kind, cls)
    except DeclarationError as err:
        if check == declaration_check(kind):
            return CheckResult(kind, name, check, FAILED, f"{check} failed for {label}: {err}")
        return CheckResult(kind, name, check, SKIPPED, f"not run: {declaration_check(kind)} failed")
    if check == declaration_check(kind):
        return CheckResult(kind, name, check, PASSED)
    function = checks_of(kind).get(check)
    if function is None:
        raise ValueError(f"unknown check {check!r} for kind {kind!r}; expected one of {check_names(kind)}")

    failures = []
    for index, kwargs in enumerate(cases):
        subject = Subject(kind, name, cls, kwargs, index, seed_for(check, index))
        try:
            function(subject)
        except Mismatch as err:
            failures.append((index, kwargs, str(err)))
        except Exception as err:  # a plugin raising inside a check breaks the contract too
            failures.append((index, kwargs, _describe_error(err)))
    reason = str(_expected_failures(cls).get(check, ""))
    if not failures:
        if reason:
            return CheckResult(kind, name, check, XPASSED,
                               f"{check} passed for {label} but expected_failures lists it ({reason}); remove it from "
                               "the list", reason)
        return CheckResult(kind, name, check, PASSED)
    index, kwargs, text = failures[0]
    where = f", case {index} {describe_case(kwargs)}" if len(cases) > 1 or kwargs else ""
    more = f" (fails in {len(failures)} of {len(cases)} cases)" if len(cases) > 1 else ""
    message = f"{check} failed for {label}{where}: {text}{more}"
    return CheckResult(kind, name, check, XFAILED if reason else FAILED, message, reason)


def check_plugin(kind: str, cls: type, name: str | None = None) -> list[CheckResult]:
    """Run every check of ``kind`` on the plugin class ``cls``; one result per check.

    A kind without checks (for example a metric) gives one ``"skipped"`` result saying so.
    """
    kind = kind_spec(kind).kind
    name = name or REGISTRY.name_of(cls)
    if kind not in CHECKED_KINDS:
        return [CheckResult(kind, name, f"{kind}_checks", SKIPPED, f"no conformance checks for kind {kind!r} yet")]
    return [run_check(kind, cls, check, name) for check in check_names(kind)]


def _kind_of(cls: type) -> str:
    for spec in _KINDS.values():
        if isinstance(cls, type) and issubclass(cls, spec.base):
            return spec.kind
    raise TypeError(f"{cls!r} is not a plugin class of any kind {sorted(_KINDS)}")


def resolve_target(spec: Any) -> Target:
    """A plugin given as ``"kind:name"``, a name unique across kinds, a class, or a ``(kind, class)`` pair."""
    if isinstance(spec, Target):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        kind, cls = spec
        kind = kind_spec(kind).kind
        if isinstance(cls, str):
            info = REGISTRY.find(kind, cls)
            return Target(kind, info.name, REGISTRY.load(info))
        return Target(kind, REGISTRY.name_of(cls), cls)
    if isinstance(spec, type):
        return Target(_kind_of(spec), REGISTRY.name_of(spec), spec)
    if not isinstance(spec, str):
        raise TypeError(f"expected a plugin name, 'kind:name', a plugin class or a (kind, class) pair; got {spec!r}")
    if ":" in spec:
        kind, _, name = spec.partition(":")
        return resolve_target((kind, name))
    found = []
    for kind in _KINDS:
        try:
            found.append((kind, REGISTRY.find(kind, spec)))
        except ValueError:  # UnknownPluginError: not of this kind
            continue
    if not found:
        raise LookupError(f"no plugin named {spec!r} of any kind {sorted(_KINDS)}; list them with `minikeras plugins`")
    if len(found) > 1:
        options = ", ".join(f"{kind}:{info.name}" for kind, info in found)
        raise LookupError(f"{spec!r} names plugins of several kinds; say which with kind:name ({options})")
    kind, info = found[0]
    return Target(kind, info.name, REGISTRY.load(info))


def _load_target(kind: str, info) -> Target:
    """Load a plugin for checking; an entry point that fails to import becomes a target with a note."""
    if kind not in CHECKED_KINDS:
        return Target(kind, info.name, None)
    try:
        return Target(kind, info.name, REGISTRY.load(info))
    except PluginError as err:
        return Target(kind, info.name, None, note=str(err))


def load_check(kind: str) -> str:
    """The name of the result reported when a plugin's entry point cannot be loaded at all."""
    return f"{kind}_entry_point_loads"


def distribution_targets(distribution: str) -> list[Target]:
    """Every plugin an installed distribution provides through its entry points, of every kind."""
    wanted = _normalize(distribution)
    targets = []
    for kind in _KINDS:
        for info in REGISTRY.infos(kind):
            if info.distribution is not None and _normalize(info.distribution) == wanted:
                targets.append(_load_target(kind, info))
    if not targets:
        raise LookupError(
            f"no installed distribution {distribution!r} provides Mini-Keras plugins; is it installed "
            "(pip install -e PATH) and are its entry points in the minikeras.* groups?"
        )
    return targets


def registered_targets(kinds: Iterable[str] | None = None, *, installed_only: bool = False) -> list[Target]:
    """Every registered plugin of the kinds that have checks: installed ones and, unless ``installed_only``, those registered in code."""
    targets = []
    for kind in kinds or CHECKED_KINDS:
        kind = kind_spec(kind).kind
        if kind not in CHECKED_KINDS:
            continue
        for info in sorted(REGISTRY.infos(kind), key=lambda i: (i.name, i.origin)):
            if installed_only and info.distribution is None:
                continue
            targets.append(_load_target(kind, info))
    return targets


def run_checks(plugins: Iterable[Any] = (), *, dist: str | None = None) -> list[CheckResult]:
    """Check plugins given by name (``"kind:name"`` where ambiguous), class or ``(kind, class)``, and/or every plugin of ``dist``."""
    targets = [resolve_target(p) for p in plugins]
    if dist is not None:
        targets += distribution_targets(dist)
    results: list[CheckResult] = []
    for target in targets:
        if target.note:
            results.append(CheckResult(target.kind, target.name, load_check(target.kind), FAILED,
                                       f"{load_check(target.kind)} failed for {target.kind} plugin {target.name!r}: "
                                       f"expected its entry point to load; found {target.note}"))
            continue
        if target.cls is None or target.kind not in CHECKED_KINDS:
            results.append(CheckResult(target.kind, target.name, f"{target.kind}_checks", SKIPPED,
                                       f"no conformance checks for kind {target.kind!r} yet"))
            continue
        results.extend(check_plugin(target.kind, target.cls, target.name))
    return results


def summarize(results: list[CheckResult]) -> str:
    """One line: how many checks on how many plugins, and how many of each status."""
    plugins = {(r.kind, r.plugin) for r in results}
    counts = {status: sum(r.status == status for r in results) for status in _LABELS}
    parts = [f"{counts[PASSED]} passed", f"{counts[FAILED]} failed"]
    if counts[XFAILED]:
        parts.append(f"{counts[XFAILED]} expected failures")
    if counts[XPASSED]:
        parts.append(f"{counts[XPASSED]} unexpected passes")
    if counts[SKIPPED]:
        parts.append(f"{counts[SKIPPED]} skipped")
    return f"{len(results)} checks on {len(plugins)} plugin(s): " + ", ".join(parts)


def format_report(results: list[CheckResult]) -> str:
    """One line per check (with the message under each failure, expected failure and skip) and a summary."""
    lines = []
    for result in results:
        lines.append(result.line())
        if result.status == XFAILED:
            lines.append(f"       expected failure: {result.reason}")
        if result.status != PASSED and result.message:
            lines.append(f"       {result.message}")
    lines.append(summarize(results))
    return "\n".join(lines)


def assert_conforms(plugin: Any) -> None:
    """Raise ``AssertionError`` listing every failed check of ``plugin`` (a name, class or ``(kind, class)``)."""
    results = run_checks([plugin])
    failed = [r for r in results if not r.ok]
    if failed:
        raise AssertionError("\n".join(r.message for r in failed))
