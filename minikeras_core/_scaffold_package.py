"""The package files ``minikeras new-plugin`` writes around the plugin class (see :mod:`.scaffold`).

``str.format`` templates with the fields of :mod:`._scaffold_templates`; ``_TEST`` also takes
``model``, the kind's entry of ``_MODEL_TEST``, and ``fit_options``, its entry of
``_FIT_OPTIONS``. Literal braces are doubled.
"""

_MODEL_TEST = {
    "activation": '''    model = Sequential(seed=0)
    model.add("dense", units=4, activation="{name}", input_size=(3,))
    model.add("dense", units=2, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer="sgd")''',
    "layer": '''    model = Sequential(seed=0)
    model.add("{name}", input_size=(3,))
    model.add("dense", units=2, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer="sgd")''',
    "loss": '''    model = Sequential(seed=0)
    model.add("dense", units=2, activation="sigmoid", input_size=(3,))
    model.compile("{name}", optimizer="sgd")''',
    "optimizer": '''    model = Sequential(seed=0)
    model.add("dense", units=2, activation="softmax", input_size=(3,))
    model.compile("categorical_cross_entropy", optimizer="{name}")''',
    "metric": '''    model = Sequential(seed=0)
    model.add("dense", units=2, activation="softmax", input_size=(3,))
    model.compile("categorical_cross_entropy", optimizer="sgd", metrics=["{name}"])''',
    "initializer": '''    model = Sequential(seed=0)
    model.add("dense", units=4, activation="tanh", kernel_initializer="{name}", input_size=(3,))
    model.add("dense", units=2, activation="softmax", kernel_initializer="{name}")
    model.compile("categorical_cross_entropy", optimizer="sgd")''',
    "strategy": '''    model = Sequential(seed=0)
    model.add("dense", units=4, activation="tanh", input_size=(3,))
    model.add("dense", units=2, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer="adam")''',
}

#: What the model test's ``fit`` call adds for a kind (a strategy trains through the plugin).
_FIT_OPTIONS = {"strategy": ', strategy="{name}"'}

_TEST = '''"""The conformance suite and a model using the plugin by name (needs `pip install -e .` first)."""

import numpy as np

from minikeras_core import Sequential
from minikeras_core.testing import conformance_tests

# One test per check, on every plugin this distribution registers through its entry points.
test_conformance = conformance_tests(dist="{dist}")


def test_a_model_uses_the_plugin_by_name():
{model}
    X = np.random.default_rng(0).normal(size=(8, 3))
    y = np.eye(2)[np.arange(8) % 2]
    history = model.fit(X, y, n_epochs=2, batch_size=4, verbose=0{fit_options})
    assert np.all(np.isfinite(history.history["loss"]))
'''

_PYPROJECT = '''[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "The {name} {kind} for Mini-Keras"
requires-python = ">=3.10"
dependencies = ["minikeras-core", "numpy>=1.23"]

[project.optional-dependencies]
test = ["pytest>=7"]

[tool.setuptools]
packages = ["{package}"]

# The registry finds the plugin by this name, exactly as it finds the built-in ones.
[project.entry-points."{group}"]
{name} = "{package}.{name}:{cls}"
'''

_README = '''# {dist}

The `{name}` {kind} for Mini-Keras, found by name through its entry point.

```bash
pip install -e .              # registers the plugin
minikeras check {kind}:{name}  # the conformance suite, one line per check
python -m pytest              # the same checks, plus a model using it by name
```
'''
