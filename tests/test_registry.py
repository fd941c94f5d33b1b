"""The registry: lazy listing, name resolution, conflicts, broken plugins, autoload switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import minikeras_core
from minikeras_core import (
    Activation,
    ElementwiseActivation,
    PluginConflictError,
    PluginLoadError,
    PluginTypeError,
    UnknownPluginError,
    get,
)
from minikeras_core.registry import AUTOLOAD_ENV, REGISTRY

BUILT_INS = {
    "activation": {"sigmoid", "relu", "softmax", "tanh", "linear"},
    "layer": {"dense", "flatten"},
    "loss": {"binary_cross_entropy", "categorical_cross_entropy"},
    "optimizer": {"sgd", "gradient_descent", "nesterov"},
}

SWISH = """
import numpy as np
from minikeras_core import ElementwiseActivation

class Swish(ElementwiseActivation):
    def eval(self, X):
        return X / (1 + np.exp(-X))

    def derivative(self, X, Y):
        s = 1 / (1 + np.exp(-X))
        return s + X * s * (1 - s)
"""


def _run_python(code: str, **env: str) -> str:
    environment = {**os.environ, **env}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    return result.stdout


@pytest.mark.parametrize("kind", sorted(BUILT_INS))
def test_every_built_in_is_listed(kind):
    assert BUILT_INS[kind] <= set(minikeras_core.list_plugins(kind))


def test_listing_imports_no_plugin_and_resolving_imports_only_that_one():
    code = """
import json, sys
import minikeras_core
names = minikeras_core.list_plugins()
after_listing = sorted(m for m in sys.modules if m.startswith("minikeras_plugins."))
minikeras_core.get("activation", "relu")
after_get = sorted(m for m in sys.modules if m.startswith("minikeras_plugins."))
print(json.dumps([names, after_listing, after_get]))
"""
    names, after_listing, after_get = json.loads(_run_python(code))
    assert "dense" in names["layer"]
    assert after_listing == []
    assert after_get == ["minikeras_plugins.relu"]


@pytest.mark.parametrize(
    "identifier", ["dense", "Dense", "DENSE", "minikeras_plugins.dense:Dense".rpartition(":")[2]]
)
def test_names_resolve_case_insensitively(identifier):
    assert type(get("layer", identifier, units=2)).__name__ == "Dense"


@pytest.mark.parametrize(
    "identifier", ["binary_cross_entropy", "BinaryCrossEntropy", "binary_crossentropy", "Binary-Cross-Entropy"]
)
def test_snake_case_and_class_names_resolve(identifier):
    assert type(get("loss", identifier)).__name__ == "BinaryCrossentropy"  # Keras's class name


def test_kind_accepts_plurals_and_rejects_unknown_kinds():
    assert type(get("activations", "relu")).__name__ == "ReLU"
    assert type(get("losses", "binary_cross_entropy")).__name__ == "BinaryCrossentropy"
    with pytest.raises(ValueError, match="kind"):
        get("widget", "relu")


def test_get_accepts_class_instance_and_config_dict():
    relu = get("activation", "relu")
    assert get("activation", relu) is relu
    assert type(get("activation", type(relu))) is type(relu)
    sgd = get("optimizer", {"class_name": "sgd", "config": {"learning_rate": 0.5, "momentum": 0.25}})
    assert (sgd.learning_rate, sgd.momentum) == (0.5, 0.25)
    with pytest.raises(TypeError):
        get("activation", relu, alpha=1)
    with pytest.raises(TypeError):
        get("layer", type(relu))
    with pytest.raises(TypeError):
        get("layer", 42)


def test_serialize_round_trips_through_get():
    sgd = get("optimizer", "nesterov", learning_rate=0.2)
    config = minikeras_core.serialize(sgd)
    assert config["class_name"] == "nesterov"
    again = get("optimizer", json.loads(json.dumps(config)))
    assert type(again) is type(sgd)
    assert (again.learning_rate, again.momentum, again.nesterov) == (0.2, 0.9, True)


def test_unknown_name_lists_close_matches_and_where_to_see_all():
    with pytest.raises(UnknownPluginError) as info:
        get("activation", "sigmod")
    message = str(info.value)
    assert "'sigmoid'" in message and "minikeras plugins" in message
    with pytest.raises(UnknownPluginError, match="'relu'"):
        get("activation", "rellu")


def test_two_distributions_claiming_a_name_is_an_error_naming_both(fake_dists):
    fake_dists("alpha-acts", "1.2", {"minikeras.activations": {"swish": "alpha_swish:Swish"}}, {"alpha_swish": SWISH})
    fake_dists("beta-acts", "3.4", {"minikeras.activations": {"swish": "beta_swish:Swish"}}, {"beta_swish": SWISH})
    with pytest.raises(PluginConflictError) as info:
        get("activation", "swish")
    message = str(info.value)
    for part in ("alpha-acts 1.2", "beta-acts 3.4", "prefer("):
        assert part in message
    # other names keep working, and the user can choose
    assert type(get("activation", "relu")).__name__ == "ReLU"
    minikeras_core.prefer("activation", "swish", "beta-acts")
    try:
        assert type(get("activation", "swish")).__module__ == "beta_swish"
    finally:
        REGISTRY._preferred.clear()


def test_the_same_entry_point_seen_twice_is_one_plugin(fake_dists):
    groups = {"minikeras.activations": {"swish": "dup_swish:Swish"}}
    fake_dists("dup-acts", "1.0", groups, {"dup_swish": SWISH})
    fake_dists("dup-acts", "1.0", groups, folder="dup_acts-1.0.egg-info")
    assert minikeras_core.list_plugins("activation").count("swish") == 1
    assert isinstance(get("activation", "swish"), ElementwiseActivation)


def test_a_broken_plugin_fails_only_when_used_and_names_its_entry_point(fake_dists):
    fake_dists(
        "broken-acts",
        "0.1",
        {"minikeras.activations": {"broken": "broken_mod:Broken", "fine": "fine_mod:Swish"}},
        {"broken_mod": "raise RuntimeError('boom at import')\n", "fine_mod": SWISH},
    )
    assert "broken" in minikeras_core.list_plugins("activation")
    with pytest.raises(PluginLoadError) as info:
        get("activation", "broken")
    message = str(info.value)
    assert "broken_mod:Broken" in message and "broken-acts 0.1" in message and "boom at import" in message
    assert isinstance(get("activation", "fine"), Activation)
    assert type(get("activation", "sigmoid")).__name__ == "Sigmoid"


def test_an_object_of_the_wrong_kind_is_refused(fake_dists):
    fake_dists(
        "odd-acts",
        "0.1",
        {"minikeras.activations": {"not_an_activation": "odd_mod:Thing", "a_function": "odd_mod:function"}},
        {"odd_mod": "class Thing:\n    pass\n\ndef function(x):\n    return x\n"},
    )
    for name in ("not_an_activation", "a_function"):
        with pytest.raises(PluginTypeError, match="Activation"):
            get("activation", name)


def test_autoload_off_ignores_entry_points_and_the_core_still_imports():
    code = """
import json
import minikeras_core
from minikeras_core import UnknownPluginError
names = minikeras_core.list_plugins()
try:
    minikeras_core.get("layer", "dense", units=1)
    error = ""
except UnknownPluginError as err:
    error = str(err)
print(json.dumps([names, error]))
"""
    names, error = json.loads(_run_python(code, **{AUTOLOAD_ENV: "1"}))
    assert names.pop("model") == ["Sequential"]  # the core's own model class, registered in code
    assert all(not listed for listed in names.values())
    assert "no plugins" in error and AUTOLOAD_ENV in error


def test_programmatic_registration_works_with_autoload_off(monkeypatch):
    monkeypatch.setenv(AUTOLOAD_ENV, "1")

    @minikeras_core.register("activation", "halve")
    class Halve(ElementwiseActivation):
        def eval(self, X):
            return X / 2

        def derivative(self, X, Y):
            return X * 0 + 0.5

    try:
        assert minikeras_core.list_plugins("activation") == ["halve"]
        assert isinstance(get("activation", "Halve"), Halve)
        assert minikeras_core.registered_name(Halve) == "halve"
    finally:
        REGISTRY.unregister("activation", "halve")


def test_registering_an_existing_name_needs_override():
    class Other(ElementwiseActivation):
        def eval(self, X):
            return X

        def derivative(self, X, Y):
            return X * 0 + 1

    with pytest.raises(PluginConflictError, match="override"):
        minikeras_core.register("activation", "relu", Other)
    minikeras_core.register("activation", "relu", Other, override=True)
    try:
        assert type(get("activation", "relu")) is Other
    finally:
        REGISTRY.unregister("activation", "relu")
    assert type(get("activation", "relu")).__name__ == "ReLU"


def test_registering_a_non_plugin_is_refused():
    with pytest.raises(PluginTypeError):
        minikeras_core.register("layer", "nothing", object)


def test_entry_points_are_read_once_and_refresh_reads_again(fake_dists, monkeypatch):
    import importlib_metadata

    calls = []
    real = importlib_metadata.entry_points

    def counting(**kwargs):
        calls.append(kwargs.get("group"))
        return real(**kwargs)

    monkeypatch.setattr(importlib_metadata, "entry_points", counting)
    REGISTRY.refresh()
    minikeras_core.list_plugins("layer")
    minikeras_core.list_plugins("layer")
    get("layer", "flatten")
    assert calls.count("minikeras.layers") == 1
    fake_dists("late-acts", "1.0", {"minikeras.layers": {}})  # refreshes
    minikeras_core.list_plugins("layer")
    assert calls.count("minikeras.layers") == 2


def test_cli_lists_every_plugin_with_its_distribution():
    result = subprocess.run([sys.executable, "-m", "minikeras_core.cli", "plugins"], capture_output=True, text=True, check=True)
    for kind, names in BUILT_INS.items():
        for name in names:
            assert any(line.split()[:2] == [kind, name] and "minikeras-plugins" in line for line in result.stdout.splitlines()), name
