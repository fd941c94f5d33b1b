"""pytest integration of the conformance suite (the only module of minikeras_core that imports pytest).

Registered through the ``pytest11`` entry point of ``minikeras-core``, so it is active in any
pytest run where Mini-Keras is installed (disable with ``-p no:minikeras``). It gives:

- :func:`conformance_tests`: ``test_conformance = conformance_tests(dist="my-dist")`` in a test
  module is a whole conformance test suite, one test per (plugin, check);
- :func:`parametrize_with_checks`: the same as a decorator of your own test, which takes ``check``
  and calls it (scikit-learn's style);
- the marker ``@pytest.mark.minikeras_conformance(*plugins, dist=...)`` on a test taking the
  fixture-like argument ``minikeras_check``, parametrized the same way.

A failed check fails its test with the check's message; an expected failure is an ``xfail``
showing the plugin's reason; an expected failure that passes fails; a check that does not apply
to the plugin is skipped with the reason ("not applicable: no weights"), and so is one that could
not run because the plugin's declarations are missing, next to the failing declaration check.
"""

from __future__ import annotations

from typing import Any

import pytest

from ._targets import distribution_targets, load_check, resolve_target
from .runner import FAILED, SKIPPED, XFAILED, XPASSED, check_names, run_check

MARKER = "minikeras_conformance"


class ConformanceCheck:
    """One check on one plugin, run by calling it inside a test."""

    def __init__(self, kind: str, name: str, cls: type, check: str) -> None:
        self.kind, self.name, self.cls, self.check = kind, name, cls, check

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}-{self.check}"

    def __repr__(self) -> str:
        return f"<conformance check {self.id}>"

    def __call__(self) -> None:
        result = run_check(self.kind, self.cls, self.check, self.name)
        if result.status in (FAILED, XPASSED):
            pytest.fail(result.message, pytrace=False)
        if result.status == XFAILED:
            pytest.xfail(f"{result.reason} ({result.message})")
        if result.status == SKIPPED:
            pytest.skip(result.message)


class _LoadFailure:
    """Stands for the checks of a plugin whose entry point does not import: calling it fails with why."""

    def __init__(self, target) -> None:
        self.kind, self.name, self.note = target.kind, target.name, target.note

    def __call__(self) -> None:
        pytest.fail(f"{load_check(self.kind)} failed for {self.kind} plugin {self.name!r}: expected its entry point "
                    f"to load; found {self.note}", pytrace=False)


def _targets(plugins: Any, dist: str | None) -> list:
    if isinstance(plugins, (str, type)):
        plugins = [plugins]
    targets = [resolve_target(p) for p in plugins]
    if dist is not None:
        targets += distribution_targets(dist)
    if not targets:
        raise ValueError("give the plugins to check (names, 'kind:name', classes) and/or dist='distribution-name'")
    return targets


def _params(plugins: Any, dist: str | None) -> list:
    params = []
    for target in _targets(plugins, dist):
        if target.note:
            params.append(pytest.param(_LoadFailure(target), id=f"{target.kind}:{target.name}-{load_check(target.kind)}"))
            continue
        names = check_names(target.kind) if target.cls is not None else []
        if not names:
            params.append(pytest.param(None, id=f"{target.kind}:{target.name}",
                                       marks=pytest.mark.skip(reason=f"no conformance checks for kind {target.kind!r} yet")))
        for check in names:
            item = ConformanceCheck(target.kind, target.name, target.cls, check)
            params.append(pytest.param(item, id=item.id))
    return params


def parametrize_with_checks(plugins: Any = (), *, dist: str | None = None):
    """Decorate a test taking ``check`` so it runs once per (plugin, check); the test calls ``check()``."""
    return pytest.mark.parametrize("check", _params(plugins, dist))


def conformance_tests(plugins: Any = (), *, dist: str | None = None):
    """Return a test function that runs every conformance check on ``plugins`` and/or ``dist``'s plugins."""

    @parametrize_with_checks(plugins, dist=dist)
    def test_conformance(check: ConformanceCheck) -> None:
        check()

    return test_conformance


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*plugins, dist=None): run the Mini-Keras conformance checks on these plugins; the test takes "
        "minikeras_check and calls it",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None or "minikeras_check" not in metafunc.fixturenames:
        return
    metafunc.parametrize("minikeras_check", _params(list(marker.args), marker.kwargs.get("dist")))
