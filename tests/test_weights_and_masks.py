"""Two parts of the Layer contract: non-trainable weights, and masks passed from layer to layer."""

from __future__ import annotations

import numpy as np
from _layer_checks import MaskZeros

import minikeras_core as mk
from minikeras_core import Layer
from minikeras_core.engine import step
from minikeras_core.engine.setup import StepSetup


class RunningMean(Layer):
    """``y = x * scale``, keeping a running mean of its inputs as a non-trainable weight (as BatchNormalization does)."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def create_weights(self, input_shape):
        self.add_weight("scale", input_shape, "ones")
        self.add_weight("moving_mean", input_shape, "zeros", trainable=False)

    def call(self, X, training=False):
        if training:
            self.params["moving_mean"][...] = 0.5 * self.params["moving_mean"] + 0.5 * X.mean(axis=0)
        self._X = X
        return X * self.params["scale"]

    def call_backward(self, grad):
        self.grads["scale"][...] = (grad * self._X).sum(axis=0)
        return grad * self.params["scale"]


def model_with_running_mean(optimizer="adam"):
    model = mk.Sequential(seed=0, dtype="float64")
    model.add(RunningMean(input_shape=(3,)))
    model.add("dense", units=2, activation="softmax")
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def test_non_trainable_weights_are_saved_and_counted_but_never_seen_by_optimizers(tmp_path):
    layer = RunningMean(input_shape=(3,)).build()
    assert list(layer.params) == ["scale", "moving_mean"] and list(layer.grads) == ["scale"]
    assert layer.count_params() == 6 and layer.count_trainable_params() == 3
    for optimizer in ("adam", "rmsprop", "sgd"):
        model = model_with_running_mean(optimizer)
        setup = StepSetup(model.flat_layers, model.optimizer)
        moving = model.layers[0].params["moving_mean"]
        assert not any(np.shares_memory(p, moving) for p in setup.params)
        X = np.random.default_rng(1).normal(size=(16, 3)) + 2.0
        model.fit(X, np.arange(16) % 2, epochs=1, batch_size=16, shuffle=False, verbose=0)
        # one training step moved it halfway to the batch mean, and nothing else did
        np.testing.assert_allclose(model.layers[0].params["moving_mean"], 0.5 * X.mean(axis=0), rtol=1e-12)
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 11" in lines[0] and "Non-trainable params: 3" in lines[0]
    model.save_weights(tmp_path / "m.mk")
    fresh = model_with_running_mean()
    fresh.load_weights(tmp_path / "m.mk")
    np.testing.assert_array_equal(fresh.layers[0].params["moving_mean"], model.layers[0].params["moving_mean"])
    assert fresh.layers[0].params["moving_mean"].any()


class MeanOverSteps(Layer):
    """The mean over the unmasked time steps (as GlobalAveragePooling1D with a mask)."""

    def compute_output_shape(self, input_shape):
        return input_shape[1:]

    def call(self, X, training=False, mask=None):
        weights = np.ones(X.shape[:2]) if mask is None else mask.astype(X.dtype)
        self._weights = weights / weights.sum(axis=1, keepdims=True)
        return np.einsum("nt,ntf->nf", self._weights, X)

    def call_backward(self, grad):
        return self._weights[:, :, None] * grad[:, None, :]


def test_a_mask_reaches_a_later_layer_through_layers_that_keep_the_time_steps():
    model = mk.Sequential(dtype="float64", seed=0)
    model.add(MaskZeros(input_shape=(4, 2)))
    model.add("dense", units=2)  # keeps the 4 steps: the mask passes through
    model.add(MeanOverSteps())
    X = np.random.default_rng(2).normal(size=(3, 4, 2))
    X[0, 2:] = 0.0  # sample 0 has two real steps, then padding
    out = step.forward(model.flat_layers, X)
    dense = model.layers[1].params
    expected = (X[0, :2] @ dense["kernel"] + dense["bias"]).mean(axis=0)
    np.testing.assert_allclose(out[0], expected, rtol=1e-12)
    np.testing.assert_allclose(out[1], (X[1] @ dense["kernel"] + dense["bias"]).mean(axis=0), rtol=1e-12)
    assert model.layers[1].compute_mask(X, X[..., 0] != 0) is not None
    flatten = mk.get("layer", "flatten").build((4, 2))
    assert flatten.compute_mask(X, X[..., 0] != 0) is None  # the time steps are gone


def test_a_masked_model_trains_on_threads_as_on_one(use_parts):
    X = np.random.default_rng(3).normal(size=(64, 4, 2))
    X[::3, 3:] = 0.0
    y = (X[:, 0, 0] > 0).astype(int)
    results = []
    for threads in (False, True):
        use_parts(threads)
        model = mk.Sequential(dtype="float64", seed=0)
        model.add(MaskZeros(input_shape=(4, 2)))
        model.add("dense", units=3, activation="tanh")
        model.add(MeanOverSteps())
        model.add("dense", units=2, activation="softmax")
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        results.append(model.fit(X, y, epochs=2, batch_size=32, verbose=0).history["loss"])
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10)


def test_the_default_mask_rule_drops_the_mask_once_the_rank_changes():
    # an RNN returning its last state with as many outputs as time steps: the first axis matches, the rank does not
    layer = mk.get("layer", "basic_rnn", output_units=4, hidden_units=3, return_sequences=False).build((4, 2))
    mask = np.ones((5, 4), dtype=bool)
    assert layer.output_shape == (4,) and layer.compute_mask(np.zeros((5, 4, 2)), mask) is None
    dense = mk.get("layer", "dense", units=3).build((4, 2))
    assert dense.compute_mask(np.zeros((5, 4, 2)), mask) is mask


def test_a_frozen_layer_keeps_its_weights_and_still_passes_gradients_back(tmp_path):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    model = mk.Sequential(seed=0, dtype="float64")
    first = model.add("dense", units=4, activation="tanh", input_shape=(3,))
    middle = model.add("dense", units=4, activation="tanh")
    model.add("dense", units=2, activation="softmax")
    middle.trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    frozen, before = middle.get_weights(), first.get_weights()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(middle.get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], before[0])  # the layer before it still learns through it
    assert model.count_trainable_params() == model.count_params() - (4 * 4 + 4)
    model.save(tmp_path / "frozen.mk")
    assert mk.load_model(tmp_path / "frozen.mk").layers[1].trainable is False
    model.trainable = False
    assert model.count_trainable_params() == 0 and not model.trainable
