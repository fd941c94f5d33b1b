"""Every optimizer against Keras 3's own steps, stored in tests/data/keras/optimizer_reference.json.

``tests/data/keras/make_optimizer_reference.py`` (run with Keras 3 on its PyTorch backend, in
float64) applied fixed gradients to two weight arrays of different shapes for each case: the
eight optimizers with default and other arguments, and each with ``clipnorm``, ``clipvalue``,
``global_clipnorm``, ``weight_decay`` and ``gradient_accumulation_steps``. Ours must follow each
step within 1e-6, per array and, where the optimizer is element-wise, through one flat buffer.

Keras on PyTorch rounds the norm to float32 in its clipping (``ops.maximum(norm, clipnorm)``
with a Python float gives a float32 tensor there), so the clipped cases differ from ours by up
to about 3e-8; every other case agrees to float64 rounding.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

import minikeras_core as mk

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "optimizer_reference.json").read_text())
CASES = REFERENCE["cases"]
IDS = [f"{c['name']}-{'-'.join(f'{k}={v}' for k, v in c['kwargs'].items()) or 'defaults'}" for c in CASES]
NAMES = ["sgd", "adam", "adagrad", "rmsprop", "adadelta", "adamax", "nadam", "adamw"]
KERAS_CLASSES = {"sgd": "SGD", "adam": "Adam", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adadelta": "Adadelta",
                 "adamax": "Adamax", "nadam": "Nadam", "adamw": "AdamW"}


def start_weights() -> list[np.ndarray]:
    return [np.array(w, dtype=np.float64) for w in REFERENCE["weights"]]


def step_gradients(k: int) -> list[np.ndarray]:
    return [np.array(g, dtype=np.float64) for g in REFERENCE["gradients"][k]]


def test_reference_covers_every_optimizer_and_variant():
    assert {c["name"] for c in CASES} == set(NAMES)
    for variant in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "gradient_accumulation_steps"):
        assert any(variant in c["kwargs"] for c in CASES), variant
    assert {c["keras_class"] for c in CASES} == set(KERAS_CLASSES.values())
    assert REFERENCE["floatx"] == "float64"
    # the weights moved: a comparison of two runs that did nothing proves nothing
    first = np.array(CASES[0]["weights_after_step"][-1][0])
    assert np.min(np.abs(first - start_weights()[0])) > 1e-4


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_step_matches_keras_per_array(case):
    optimizer = mk.get("optimizer", case["name"], **case["kwargs"])
    weights = start_weights()
    for k, expected in enumerate(case["weights_after_step"]):
        optimizer.apply(weights, step_gradients(k))
        for got, want in zip(weights, expected):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=f"after step {k + 1}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_step_matches_keras_through_one_flat_buffer(case):
    optimizer = mk.get("optimizer", case["name"], **case["kwargs"])
    if not optimizer.elementwise:
        assert "clipnorm" in case["kwargs"]  # the only reason one of ours is not element-wise
        return
    shapes = [w.shape for w in start_weights()]
    flat = np.concatenate([w.ravel() for w in start_weights()])
    for k, expected in enumerate(case["weights_after_step"]):
        optimizer.apply([flat], [np.concatenate([g.ravel() for g in step_gradients(k)])])
        assert optimizer.get_state()["shapes"] == [[flat.size]]
        np.testing.assert_allclose(flat, np.concatenate([np.ravel(w) for w in expected]), rtol=0, atol=1e-6,
                                   err_msg=f"after step {k + 1}")
    assert [s for s in shapes] == [(2, 3), (4,)]


def test_the_nesterov_alias_is_keras_sgd_with_nesterov_momentum():
    case = next(c for c in CASES if c["kwargs"] == {"momentum": 0.9, "nesterov": True})
    optimizer = mk.get("optimizer", "nesterov")
    weights = start_weights()
    for k in range(3):
        optimizer.apply(weights, step_gradients(k))
    for got, want in zip(weights, case["weights_after_step"][-1]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


# -- signatures: Keras 3's arguments, order and defaults ------------------------------------------

COMMON = [("weight_decay", None), ("clipnorm", None), ("clipvalue", None), ("global_clipnorm", None),
          ("use_ema", False), ("ema_momentum", 0.99), ("ema_overwrite_frequency", None),
          ("loss_scale_factor", None), ("gradient_accumulation_steps", None), ("name", None)]
# Read from keras/src/optimizers/*.py (Keras 3.15): each optimizer's own arguments, then the common ones.
KERAS_SIGNATURES = {
    "sgd": [("learning_rate", 0.01), ("momentum", 0.0), ("nesterov", False), *COMMON],
    "adam": [("learning_rate", 0.001), ("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-7), ("amsgrad", False), *COMMON],
    "adagrad": [("learning_rate", 0.001), ("initial_accumulator_value", 0.1), ("epsilon", 1e-7), *COMMON],
    "rmsprop": [("learning_rate", 0.001), ("rho", 0.9), ("momentum", 0.0), ("epsilon", 1e-7), ("centered", False), *COMMON],
    "adadelta": [("learning_rate", 0.001), ("rho", 0.95), ("epsilon", 1e-7), *COMMON],
    "adamax": [("learning_rate", 0.001), ("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-7), *COMMON],
    "nadam": [("learning_rate", 0.001), ("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-7), *COMMON],
    "adamw": [("learning_rate", 0.001), ("weight_decay", 0.004), ("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-7),
              ("amsgrad", False), *[c for c in COMMON if c[0] != "weight_decay"]],
}


@pytest.mark.parametrize("name", NAMES)
def test_signature_is_keras_3s(name):
    cls = type(mk.get("optimizer", name))
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-1]] == KERAS_SIGNATURES[name]
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD  # as Keras: `decay` warns, the rest is refused


@pytest.mark.parametrize("name", NAMES)
def test_keras_class_name_resolves_to_the_same_plugin(name):
    assert type(mk.get("optimizer", KERAS_CLASSES[name])) is type(mk.get("optimizer", name))
    from minikeras_core import optimizers

    assert getattr(optimizers, KERAS_CLASSES[name]) is type(mk.get("optimizer", name))


def test_new_plugins_have_keras_class_names():
    for name in ("adadelta", "adamax", "nadam", "adamw"):
        assert type(mk.get("optimizer", name)).__name__ == KERAS_CLASSES[name]


@pytest.mark.parametrize("name", NAMES)
def test_positional_arguments_in_keras_order(name):
    values = [0.5 if default is None or isinstance(default, float) else default for _, default in KERAS_SIGNATURES[name][:4]]
    names = [key for key, _ in KERAS_SIGNATURES[name][:4]]
    config = mk.get("optimizer", name).__class__(*values).get_config()
    assert [config[key] for key in names] == values


def test_adamw_refuses_no_weight_decay():
    with pytest.raises(ValueError, match="weight_decay"):
        mk.get("optimizer", "adamw", weight_decay=None)


def test_decay_warns_and_other_unknown_arguments_are_refused():
    with pytest.warns(UserWarning, match="decay"):
        optimizer = mk.get("optimizer", "adam", decay=0.1)
    assert "decay" not in optimizer.get_config()
    with pytest.raises(ValueError, match=r"not recognized: \['momentun'\]"):
        mk.get("optimizer", "sgd", momentun=0.9)
