"""Run the conformance checks on plugins and report the results, one line per check."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._ownership import in_place_at_any_size
from ..registry import REGISTRY, kind_spec

# importing the check modules registers their checks, in this order
from . import (  # noqa: F401
    checks_activation,
    checks_initializer,
    checks_layer,
    checks_layer_grads,
    checks_loss,
    checks_metric,
    checks_optimizer,
    checks_strategy,
)
from ._base import (
    CHECKED_KINDS,
    DeclarationError,
    Mismatch,
    NotApplicable,
    Subject,
    checks_of,
    declaration_check,
    describe_case,
    expected_failures_check,
    resolve_cases,
    seed_for,
)
from ._targets import Target, distribution_targets, load_check, registered_targets, resolve_target  # noqa: F401

PASSED, FAILED, XFAILED, XPASSED, SKIPPED = "passed", "failed", "xfailed", "xpassed", "skipped"
_LABELS = {PASSED: "PASS", FAILED: "FAIL", XFAILED: "XFAIL", XPASSED: "XPASS", SKIPPED: "SKIP"}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one plugin (over all of its conformance cases).

    ``status`` is ``"passed"``, ``"failed"``, ``"xfailed"`` (failed, and listed in the plugin's
    ``expected_failures`` with ``reason``), ``"xpassed"`` (listed there but passed: a failure, so
    the list cannot go stale) or ``"skipped"`` (not applicable to this plugin, or not run because
    its declarations are missing; ``message`` says why and ``reason`` is the short form the
    summary groups by).
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
        return CheckResult(kind, name, check, SKIPPED, f"not run: {declaration_check(kind)} failed",
                           f"{declaration_check(kind)} failed")
    if check == declaration_check(kind):
        return CheckResult(kind, name, check, PASSED)
    function = checks_of(kind).get(check)
    if function is None:
        raise ValueError(f"unknown check {check!r} for kind {kind!r}; expected one of {check_names(kind)}")

    failures, not_applicable = [], []
    for index, kwargs in enumerate(cases):
        subject = Subject(kind, name, cls, kwargs, index, seed_for(check, index))
        try:
            with in_place_at_any_size():  # small inputs take the in-place path too, so that it is checked
                function(subject)
        except NotApplicable as err:
            not_applicable.append(str(err))
        except Mismatch as err:
            failures.append((index, kwargs, str(err)))
        except Exception as err:  # a plugin raising inside a check breaks the contract too
            failures.append((index, kwargs, _describe_error(err)))
    reason = str(_expected_failures(cls).get(check, ""))
    if not failures and len(not_applicable) == len(cases):
        why = "; ".join(dict.fromkeys(not_applicable))
        return CheckResult(kind, name, check, SKIPPED, f"not applicable: {why}", why)
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
        return [_no_checks(kind, name)]
    return [run_check(kind, cls, check, name) for check in check_names(kind)]


def _no_checks(kind: str, name: str) -> CheckResult:
    why = f"no conformance checks for kind {kind!r} yet"
    return CheckResult(kind, name, f"{kind}_checks", SKIPPED, why, why)


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
            results.append(_no_checks(target.kind, target.name))
            continue
        results.extend(check_plugin(target.kind, target.cls, target.name))
    return results


def summarize(results: list[CheckResult]) -> str:
    """One line: how many checks on how many plugins, how many of each status, and why checks were skipped."""
    plugins = {(r.kind, r.plugin) for r in results}
    counts = {status: sum(r.status == status for r in results) for status in _LABELS}
    parts = [f"{counts[PASSED]} passed", f"{counts[FAILED]} failed"]
    if counts[XFAILED]:
        parts.append(f"{counts[XFAILED]} expected failures")
    if counts[XPASSED]:
        parts.append(f"{counts[XPASSED]} unexpected passes")
    if counts[SKIPPED]:
        reasons: dict[str, int] = {}
        for r in results:
            if r.status == SKIPPED:
                reasons[r.reason or r.message] = reasons.get(r.reason or r.message, 0) + 1
        parts.append(f"{counts[SKIPPED]} skipped (" + "; ".join(f"{why}: {n}" for why, n in reasons.items()) + ")")
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
