"""``minikeras_core.layers`` and friends: plugin classes by class name, resolved through the registry."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import minikeras_core
from minikeras_core import get


def test_classes_come_from_the_registry():
    from minikeras_core.activations import Sigmoid
    from minikeras_core.layers import Conv2D, Dense
    from minikeras_core.losses import BinaryCrossEntropy
    from minikeras_core.optimizers import AdamOptimizer, GradientDescentOptimizer

    assert Dense is type(get("layer", "dense", units=1))
    assert Conv2D is type(get("layer", "conv2d", ksize=3))
    assert Sigmoid is type(get("activation", "sigmoid"))
    assert BinaryCrossEntropy is type(get("loss", "binary_cross_entropy"))
    assert GradientDescentOptimizer is type(get("optimizer", "sgd"))
    assert AdamOptimizer is type(get("optimizer", "adam"))


def test_unknown_names_are_attribute_errors_with_suggestions():
    import minikeras_core.layers as layers

    with pytest.raises(AttributeError, match="'dense'"):
        layers.Dens  # noqa: B018
    assert not hasattr(layers, "NoSuchLayer")
    with pytest.raises(ImportError):
        from minikeras_core.layers import NoSuchLayer  # noqa: F401


def test_dir_lists_class_names_and_importing_a_namespace_loads_no_plugin():
    code = """
import json, sys
import minikeras_core.layers as layers
names = dir(layers)
loaded = sorted(m for m in sys.modules if m.startswith("minikeras_plugins."))
print(json.dumps([names, loaded]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    names, loaded = json.loads(out)
    assert {"Dense", "Conv2D", "MaxPool2D", "Flatten", "BasicRNN"} <= set(names)
    assert loaded == []


def test_the_original_readme_imports_work_with_only_the_module_names_changed():
    namespace: dict = {}
    exec(
        "from minikeras_core import Sequential\n"
        "from minikeras_core.layers import Dense, Conv2D, MaxPool2D, Flatten\n"
        "from minikeras_core.losses import BinaryCrossEntropy\n"
        "from minikeras_core.activations import Sigmoid\n"
        "from minikeras_core.optimizers import GradientDescentOptimizer\n",
        namespace,
    )
    assert namespace["Sequential"] is minikeras_core.Sequential
    assert namespace["MaxPool2D"] is type(get("layer", "max_pooling2d"))
