"""Every installed plugin (the built-ins and the example package) passes the conformance suite.

The parametrization comes from the registry at collection time, so a new built-in is checked as
soon as its entry point is installed, with no new test. Plugins registered in code are left out:
other test modules register deliberately broken ones.
"""

import pytest

from minikeras_core.testing import CHECKED_KINDS, parametrize_with_checks, registered_targets

BUILT_INS = {
    "activation": {"sigmoid", "relu", "softmax", "tanh", "linear"},
    "layer": {"dense", "flatten"},
    "loss": {"binary_cross_entropy", "categorical_cross_entropy"},
    "optimizer": {"sgd", "gradient_descent", "nesterov"},
    "initializer": {"zeros", "ones", "constant", "identity", "random_normal", "random_uniform", "truncated_normal",
                    "variance_scaling", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
                    "lecun_uniform", "orthogonal"},
}


@parametrize_with_checks(registered_targets(installed_only=True))
def test_registered_plugin_conforms(check):
    check()


def test_every_built_in_is_among_the_checked_plugins():
    # guards against the parametrization above silently shrinking (e.g. entry points not installed)
    checked = {(t.kind, t.name) for t in registered_targets(installed_only=True)}
    missing = {(kind, name) for kind, names in BUILT_INS.items() for name in names} - checked
    assert not missing, f"built-ins not found by the registry: {sorted(missing)}"
    assert {t.kind for t in registered_targets()} == set(CHECKED_KINDS)


@pytest.mark.minikeras_conformance("activation:relu", dist="minikeras-leaky-relu")
def test_the_pytest11_plugin_parametrizes_the_marker(minikeras_check):
    # active through the pytest11 entry point of minikeras-core, with no import in this file
    assert minikeras_check.kind in ("activation", "loss")
    minikeras_check()
