"""The plugin contract's edges: plugins written to the old contract, naming conflicts, refused arguments, targets, saving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core import Loss, PluginConflictError, get
from minikeras_core.registry import REGISTRY
from minikeras_core.testing import run_checks

# A package written to the contract before the engine: flags the core now derives or takes as arguments.
OLD_CONTRACT = '''
import numpy as np
from minikeras_core import ElementwiseActivation, Layer


class OldScale(Layer):
    """y = x * w, declaring the retired flags and reading need_input_grad as an attribute."""

    activation_in_place = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def create_weights(self, input_shape):
        self.add_weight("w", input_shape, "ones")

    @classmethod
    def conformance_cases(cls):
        return [{"input_size": (4,)}, {"input_size": (4,), "activation": "old_softsign"}]

    def call(self, X, training=False):
        self._X = X
        return X * self.params["w"]

    def call_backward(self, grad):
        self.grads["w"][...] = (grad * self._X).sum(axis=0)
        if not self.need_input_grad:
            return None
        return grad * self.params["w"]


class OldSoftsign(ElementwiseActivation):
    """x / (1 + |x|), whose derivative 1 / (1 + |x|)^2 = (1 - |y|)^2 it declares the old way."""

    derivative_uses_input = False

    def eval(self, X):
        return X / (1 + np.abs(X))

    def derivative(self, X, Y):
        return (1 - np.abs(Y)) ** 2
'''


def test_a_package_written_to_the_old_contract_trains_with_deprecation_warnings(fake_dists):
    fake_dists("old-contract", "0.9", {"minikeras.layers": {"old_scale": "old_contract:OldScale"},
                                       "minikeras.activations": {"old_softsign": "old_contract:OldSoftsign"}},
               {"old_contract": OLD_CONTRACT})
    with pytest.warns(DeprecationWarning) as caught:
        layer_class = REGISTRY.resolve("layer", "old_scale")
    messages = " ".join(str(w.message) for w in caught)
    assert "activation_in_place" in messages and "derivative_uses_input" in messages
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # using the plugins warns no more and never fails
        rng = np.random.default_rng(0)
        X = rng.normal(size=(64, 4))
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
        model = mk.Sequential(seed=0, dtype="float64")
        model.add("old_scale", activation="old_softsign", input_size=(4,))
        model.add("dense", units=2, activation="softmax")
        model.compile("categorical_cross_entropy", optimizer=get("optimizer", "sgd", learning_rate=0.5))
        losses = model.fit(X, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0] * 0.9
    assert isinstance(model.layers[0], layer_class)
    failed = [r.message for r in run_checks(["layer:old_scale", "activation:old_softsign"]) if not r.ok]
    assert not failed, failed


SGD_LIKE = '''
from minikeras_core import Optimizer


class MyDescent(Optimizer):
    def update(self, param, grad, state):
        param -= self.learning_rate * grad
'''


def test_an_entry_name_in_one_distribution_and_a_class_name_in_another_conflict(fake_dists):
    fake_dists("shadowing-opt", "1.0", {"minikeras.optimizers": {"GradientDescentOptimizer": "shadow_opt:MyDescent"}},
               {"shadow_opt": SGD_LIKE})
    with pytest.raises(PluginConflictError) as info:
        get("optimizer", "GradientDescentOptimizer")
    message = str(info.value)
    assert "shadowing-opt 1.0" in message and "minikeras-plugins" in message and "class name of" in message
    with pytest.raises(PluginConflictError):
        from minikeras_core.optimizers import GradientDescentOptimizer  # noqa: F401
    assert type(get("optimizer", "sgd")).__name__ != "MyDescent"  # other names are untouched
    mk.prefer("optimizer", "GradientDescentOptimizer", "shadowing-opt")
    try:
        assert type(get("optimizer", "GradientDescentOptimizer")).__name__ == "MyDescent"
    finally:
        REGISTRY._preferred.clear()


def test_plugins_refuse_unknown_constructor_arguments():
    with pytest.raises(TypeError, match="Sigmoid takes no arguments, got bogus"):
        get("activation", "sigmoid", bogus=1)

    class PlainLoss(Loss):
        def per_sample(self, y_pred, y_true):
            return ((y_pred - y_true) ** 2).mean(axis=-1)

        def per_sample_grad(self, y_pred, y_true):
            return 2 * (y_pred - y_true) / y_pred.shape[-1]

    with pytest.raises(TypeError, match="PlainLoss takes no arguments, got from_logits"):
        PlainLoss(from_logits=True)
    with pytest.raises(TypeError, match="bogus"):
        get("loss", "binary_cross_entropy", bogus=True)


def test_configs_record_every_constructor_argument():
    config = get("layer", "dense", units=3).get_config()
    assert {"units", "activation", "use_bias", "kernel_initializer", "bias_initializer"} <= set(config)
    assert config["use_bias"] is True and config["activation"] is None


@pytest.mark.parametrize("metric", ["categorical_accuracy", "accuracy"])
def test_metrics_and_losses_read_class_ids_by_the_same_rules(metric):
    y_pred = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    loss, measure = get("loss", "categorical_cross_entropy"), get("metric", metric)
    for bad in (np.array([0.0, 1.5]), np.array([0, 3]), np.array([-1, 0])):
        with pytest.raises(ValueError, match="class ids"):
            loss(y_pred, bad)
        with pytest.raises(ValueError, match="class ids"):
            measure(y_pred, bad)
    assert measure(y_pred, np.array([0.0, 2.0])) == measure(y_pred, np.array([[1, 0, 0], [0, 0, 1]])) == 1.0


KILLED_SAVE = '''
import os, signal, sys
import numpy as np
import minikeras_core as mk

model = mk.Sequential(seed=0)
model.add("dense", units=2, input_size=(3,))
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)  # killed once the temporary file is written
model.save(sys.argv[1])
'''


def test_an_interrupted_save_leaves_no_temporary_file_behind_the_next_save(tmp_path):
    target = tmp_path / "model.mk"
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED_SAVE), str(target)], capture_output=True)
        assert done.returncode == -signal.SIGKILL
    leftovers = sorted(p.name for p in tmp_path.iterdir())  # the second killed save already removed the first's
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.mk.") and leftovers[0].endswith(".tmp")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        in_progress = tmp_path / f".model.mk.{sleeper.pid}.abcd.tmp"  # another process still writing: left alone
        in_progress.write_bytes(b"")
        other = tmp_path / ".other.mk.1.abcd.tmp"  # another file's temporaries: left alone
        other.write_bytes(b"")
        model = mk.Sequential(seed=0)
        model.add("dense", units=2, input_size=(3,))
        model.save(target)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".other.mk.1.abcd.tmp", in_progress.name, "model.mk"])
        np.testing.assert_array_equal(mk.load_model(target).get_weights()[0], model.get_weights()[0])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert os.path.exists(target)


class LookUp(mk.Layer):
    """A minimal embedding: rows of a table picked by integer ids."""

    def __init__(self, rows=5, **kwargs):
        super().__init__(**kwargs)
        self.rows = rows

    @classmethod
    def conformance_cases(cls):
        return [{"input_size": (6,)}]

    @classmethod
    def conformance_inputs(cls, rng, shape):
        return rng.integers(0, 5, size=shape).astype(float)

    def compute_output_shape(self, input_shape):
        return input_shape + (2,)

    def create_weights(self, input_shape):
        self.add_weight("table", (self.rows, 2))

    def call(self, X, training=False):
        self._ids = X.astype(np.int64)
        return self.params["table"][self._ids]

    def call_backward(self, grad):
        self.grads["table"][...] = 0
        np.add.at(self.grads["table"], self._ids, grad)  # repeated ids add up
        return np.zeros(self._ids.shape, dtype=grad.dtype)


class ForgetsRepeatedIds(LookUp):
    def call_backward(self, grad):
        self.grads["table"][...] = 0
        self.grads["table"][self._ids] = grad  # the last write wins: repeated ids lose their sum
        return np.zeros(self._ids.shape, dtype=grad.dtype)


def test_layers_taking_ids_are_checked_on_ids():
    from minikeras_core.testing import check_plugin

    good = {r.check: r.status for r in check_plugin("layer", LookUp)}
    assert good["layer_grad_input_matches_finite_differences"] == "skipped"
    assert all(status in ("passed", "skipped") for status in good.values()), good
    assert good["layer_param_grads_match_finite_differences"] == "passed"
    bad = {r.check for r in check_plugin("layer", ForgetsRepeatedIds) if r.status == "failed"}
    assert bad == {"layer_param_grads_match_finite_differences"}
