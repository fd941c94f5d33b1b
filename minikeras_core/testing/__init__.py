"""The conformance suite: one contract per kind, checked on every plugin, ours and third parties'.

>>> from minikeras_core.testing import run_checks, format_report
>>> print(format_report(run_checks(["activation:relu"])))       # doctest: +SKIP

Three ways to run the same checks:

- ``minikeras check NAME...`` or ``minikeras check --dist DISTRIBUTION`` on the command line;
- :func:`check_plugin` / :func:`run_checks` in code (one :class:`CheckResult` per check);
- in pytest, one line in a plugin package's tests:
  ``test_conformance = conformance_tests(dist="my-distribution")``, or the decorator
  :func:`parametrize_with_checks` in the style of scikit-learn's.

Check names (``activation_grad_input_matches_finite_differences``, ...) are stable: list them with
:func:`check_names` or ``minikeras check --list``. A plugin declares the constructor arguments to
check it with in a classmethod ``conformance_cases`` and its known failures in
``expected_failures``; see CONTRIBUTING.md. pytest is imported only by the pytest helpers.
"""

from __future__ import annotations

from typing import Any

from ._base import CHECKED_KINDS, Mismatch
from .runner import (
    FAILED,
    PASSED,
    SKIPPED,
    XFAILED,
    XPASSED,
    CheckResult,
    all_check_names,
    assert_conforms,
    check_names,
    check_plugin,
    format_report,
    registered_targets,
    run_check,
    run_checks,
    summarize,
)

__all__ = [
    "CHECKED_KINDS",
    "FAILED",
    "PASSED",
    "SKIPPED",
    "XFAILED",
    "XPASSED",
    "CheckResult",
    "Mismatch",
    "all_check_names",
    "assert_conforms",
    "check_names",
    "check_plugin",
    "conformance_tests",
    "format_report",
    "parametrize_with_checks",
    "registered_targets",
    "run_check",
    "run_checks",
    "summarize",
]


def parametrize_with_checks(plugins: Any = (), *, dist: str | None = None):
    """A pytest decorator: one test per (plugin, check); the test takes ``check`` and calls it.

    >>> @parametrize_with_checks(["activation:leaky_relu"])    # doctest: +SKIP
    ... def test_conformance(check):
    ...     check()
    """
    from .pytest_plugin import parametrize_with_checks as decorator  # imports pytest only when used

    return decorator(plugins, dist=dist)


def conformance_tests(plugins: Any = (), *, dist: str | None = None):
    """A ready pytest test function running every check on ``plugins`` and/or ``dist``'s plugins.

    >>> test_conformance = conformance_tests(dist="minikeras-leaky-relu")    # doctest: +SKIP
    """
    from .pytest_plugin import conformance_tests as make  # imports pytest only when used

    return make(plugins, dist=dist)
