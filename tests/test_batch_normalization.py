"""BatchNormalization: Keras's values, the backward through the batch statistics, moving statistics in fit, models."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import numerical_gradient

import minikeras_core as mk
from minikeras_core import Sequential, get, load_model
from minikeras_core.datasets import load_digits
from minikeras_core.engine import parallel
from minikeras_core.engine.setup import StepSetup
from minikeras_core.registry import REGISTRY

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "normalization_reference.json").read_text())

#: keras/src/layers/normalization/batch_normalization.py: BatchNormalization.__init__'s parameters in order, with their defaults.
KERAS_SIGNATURE = [
    ("axis", -1), ("momentum", 0.99), ("epsilon", 1e-3), ("center", True), ("scale", True), ("beta_initializer", "zeros"),
    ("gamma_initializer", "ones"), ("moving_mean_initializer", "zeros"), ("moving_variance_initializer", "ones"),
    ("beta_regularizer", None), ("gamma_regularizer", None), ("beta_constraint", None), ("gamma_constraint", None),
    ("renorm", False), ("renorm_clipping", None), ("renorm_momentum", 0.99), ("synchronized", False),
]


def layer_for(X, dtype="float64", seed=0, **kwargs):
    return get("layer", "batch_normalization", **kwargs).build(X.shape[1:], dtype=dtype, rng=np.random.default_rng(seed))


def by_hand(X, axis, gamma, beta, mean=None, var=None, epsilon=1e-3):
    """gamma (X - mean) / sqrt(var + epsilon) + beta per channel; the batch's statistics when none are given."""
    axis = axis % X.ndim
    others = tuple(a for a in range(X.ndim) if a != axis)
    shape = [1] * X.ndim
    shape[axis] = X.shape[axis]
    mean = X.mean(axis=others) if mean is None else mean
    var = ((X - mean.reshape(shape)) ** 2).mean(axis=others) if var is None else var
    return gamma.reshape(shape) * (X - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon) + beta.reshape(shape)


def test_registered_as_kerass_layer_with_kerass_signature():
    cls = REGISTRY.resolve("layer", "batch_normalization")
    assert cls is REGISTRY.resolve("layer", "BatchNormalization") and cls is mk.layers.BatchNormalization
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-1]] == KERAS_SIGNATURE
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


def _case_id(case):
    return "-".join(f"{k}={v}" for k, v in case["kwargs"].items()) + f"-{np.array(case['X']).ndim}d" + ("-masked" if case["mask"] else "")


@pytest.mark.parametrize("case", REFERENCE["batch_normalization"], ids=_case_id)
def test_outputs_gradients_and_moving_statistics_equal_kerass(case):
    X, R = np.array(case["X"]), np.array(case["R"])
    mask = None if case["mask"] is None else np.array(case["mask"], dtype=bool)
    layer = layer_for(X, **case["kwargs"])
    assert list(layer.params) == [name.split("/")[-1] for name in case["weight_names"]]
    layer.set_weights([np.array(w) for w in case["weights"]])
    np.testing.assert_allclose(layer.forward(X, training=False, mask=mask), case["Y_infer"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(layer.forward(X, training=True, mask=mask), case["Y_train"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(layer.backward(R), case["dX"], rtol=1e-6, atol=1e-9)
    assert list(layer.grads) == [n for n in ("gamma", "beta") if n in layer.params]
    for grad, expected in zip(layer.grads.values(), case["dweights"], strict=True):
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)
    moving = ("moving_mean", "moving_variance")
    for name, expected in zip(moving, case["moving_after_one"]):
        np.testing.assert_allclose(layer.params[name], expected, rtol=1e-6, atol=1e-12)
    for more in ("X2", "X3"):
        layer.forward(np.array(case[more]), training=True, mask=mask)
    for name, expected in zip(moving, case["moving_after_three"]):
        np.testing.assert_allclose(layer.params[name], expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("shape, kwargs, masked", [
    ((5, 3), {}, False),
    ((3, 4, 3, 2), {}, False),
    ((3, 4, 3, 2), {"axis": 1, "center": False}, False),
    ((2, 3, 4, 2), {"axis": -2, "scale": False}, False),
    ((4, 5, 3), {"momentum": 0.5}, True),
])
def test_backward_is_the_gradient_through_the_batch_statistics(shape, kwargs, masked):
    rng = np.random.default_rng(5)
    X = rng.normal(1.0, 2.0, size=shape)
    mask = (rng.random(shape[:-1]) > 0.3) if masked else None
    layer = layer_for(X, **kwargs)
    layer.set_weights([rng.normal(size=w.shape) + (1.0 if w.min() > 0 else 0.0) for w in layer.get_weights()])
    R = rng.normal(size=shape)

    def loss():  # in training mode: the batch's statistics are functions of X
        return float(np.sum(R * layer.forward(X, training=True, mask=mask)))

    layer.forward(X, training=True, mask=mask)
    dX = layer.backward(R)
    grads = {name: g.copy() for name, g in layer.grads.items()}
    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, numerical_gradient(loss, layer.params[name]), rtol=1e-6, atol=1e-8, err_msg=name)


def test_training_uses_the_batch_statistics_and_inference_the_moving_ones():
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 2.0, size=(8, 5, 5, 4))
    layer = layer_for(X, momentum=0.9, epsilon=0.01)
    gamma, beta, mean0, var0 = (rng.random(4) + 0.5 for _ in range(4))
    layer.set_weights([gamma, beta, mean0, var0])
    np.testing.assert_allclose(layer.forward(X), by_hand(X, -1, gamma, beta, mean0, var0, 0.01), rtol=1e-12)
    np.testing.assert_array_equal(layer.params["moving_mean"], mean0)  # inference leaves them alone
    np.testing.assert_allclose(layer.forward(X, training=True), by_hand(X, -1, gamma, beta, epsilon=0.01), rtol=1e-12)
    batch_mean, batch_var = X.mean(axis=(0, 1, 2)), X.var(axis=(0, 1, 2))  # numpy's var is the biased one
    np.testing.assert_allclose(layer.params["moving_mean"], 0.9 * mean0 + 0.1 * batch_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.params["moving_variance"], 0.9 * var0 + 0.1 * batch_var, rtol=1e-12)


def test_float32_stays_float32_and_is_close_to_float64():
    rng = np.random.default_rng(2)
    X = rng.normal(5.0, 1.0, size=(64, 26, 26, 8))  # a mean far from 0 tests the float32 sums
    G = rng.normal(size=X.shape)
    results = []
    for dtype in ("float32", "float64"):
        layer = layer_for(X, dtype=dtype, seed=3)
        Y = layer.forward(X.astype(dtype), training=True)
        dX = layer.backward(G.astype(dtype))
        assert Y.dtype == dX.dtype == layer.params["moving_variance"].dtype == np.dtype(dtype)
        assert all(g.dtype == np.dtype(dtype) for g in layer.grads.values())
        results.append((Y, dX, layer.params["moving_mean"], layer.params["moving_variance"]))
    for low, high in zip(*results):
        np.testing.assert_allclose(low, high, rtol=1e-4, atol=1e-4 * np.abs(high).max())


def bn_model(momentum=0.9, optimizer="sgd"):
    model = Sequential(seed=0, dtype="float64")
    model.add("batch_normalization", momentum=momentum, input_shape=(4,))
    model.add("dense", units=8, activation="relu")
    model.add("batch_normalization", momentum=momentum)
    model.add("dense", units=3, activation="softmax")
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def test_fit_moves_the_moving_statistics_once_per_step(use_parts):
    use_parts(True)  # a model that would otherwise train in parts on threads
    rng = np.random.default_rng(4)
    X, y = rng.normal(2.0, 3.0, size=(24, 4)), rng.integers(0, 3, 24)
    for optimizer in ("sgd", "adam", "rmsprop"):
        model = bn_model(optimizer=optimizer)
        first = model.layers[0]
        first.set_weights([w + 0.5 for w in first.get_weights()])
        mean0, var0 = first.params["moving_mean"].copy(), first.params["moving_variance"].copy()
        model.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)  # three steps
        means = [X[s:s + 8].mean(axis=0) for s in (0, 8, 16)]
        variances = [X[s:s + 8].var(axis=0) for s in (0, 8, 16)]
        m = 0.9
        expected_mean = m**3 * mean0 + (1 - m) * (m**2 * means[0] + m * means[1] + means[2])
        expected_var = m**3 * var0 + (1 - m) * (m**2 * variances[0] + m * variances[1] + variances[2])
        np.testing.assert_allclose(first.params["moving_mean"], expected_mean, rtol=1e-12)
        np.testing.assert_allclose(first.params["moving_variance"], expected_var, rtol=1e-12)
        setup = StepSetup(model.flat_layers, model.optimizer)  # no optimizer ever holds them
        for layer in model.layers[::2]:
            for name in ("moving_mean", "moving_variance"):
                assert not any(np.shares_memory(p, layer.params[name]) for p in setup.params)


def test_threads_train_the_other_layers_in_parts_and_it_on_the_whole_batch(use_parts, need_threads):
    """The runs of layers around it go through parts on threads; it runs once on the whole batch: one pass's numbers."""
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(96, 4)), rng.integers(0, 3, 96)
    results, calls = [], []
    for threads in (False, True):
        use_parts(threads)
        model = bn_model(optimizer="adam")
        assert (parallel.parts_for(model.flat_layers, 32, training=True) > 1) == threads
        first = model.layers[0]

        def spy(X, training=False, threads=threads, original=first.call, **kw):
            calls.append((threads, training, len(X)))
            return original(X, training, **kw)

        first.call = spy
        losses = model.fit(X, y, epochs=2, batch_size=32, verbose=0).history["loss"]
        results.append((losses, model.get_weights(), model.predict(X, verbose=0)))
    assert {size for threads, training, size in calls if threads and training} == {32}  # always the whole batch
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):  # moving statistics included: updated once per step
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-10)


def test_a_frozen_layer_normalizes_with_its_moving_statistics_and_keeps_them():
    rng = np.random.default_rng(9)
    X, y = rng.normal(1.0, 2.0, size=(32, 4)), rng.integers(0, 3, 32)
    model = bn_model(optimizer="adam")
    first = model.layers[0]
    first.set_weights([w + rng.random(4) for w in first.get_weights()])
    first.trainable = False  # Keras: the layer then runs in inference mode, in fit too
    frozen = first.get_weights()
    dense_before = model.layers[1].get_weights()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for after, before in zip(first.get_weights(), frozen):
        np.testing.assert_array_equal(after, before)
    assert not np.array_equal(model.layers[1].get_weights()[0], dense_before[0])  # the rest trains
    gamma, beta, mean, var = frozen
    np.testing.assert_allclose(first.forward(X, training=True), (X - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-12)
    R = rng.normal(size=X.shape)
    np.testing.assert_allclose(first.backward(R), R * gamma / np.sqrt(var + 1e-3), rtol=1e-12)


def test_evaluate_and_predict_use_the_moving_statistics():
    rng = np.random.default_rng(7)
    model = Sequential(seed=0, dtype="float64")
    model.add("batch_normalization", input_shape=(3,), center=False, scale=False)
    model.compile(optimizer="sgd", loss="mse")
    layer = model.layers[0]
    layer.set_weights([np.array([1.0, -2.0, 0.5]), np.array([4.0, 0.25, 1.0])])
    X = rng.normal(size=(10, 3))
    expected = (X - [1.0, -2.0, 0.5]) / np.sqrt(np.array([4.0, 0.25, 1.0]) + 1e-3)
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-12)
    assert np.ravel(model.evaluate(X, expected, verbose=0))[0] < 1e-20
    np.testing.assert_array_equal(layer.params["moving_mean"], [1.0, -2.0, 0.5])  # neither moved them


def test_saved_loaded_and_counted_as_non_trainable(tmp_path):
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(32, 4)), rng.integers(0, 3, 32)
    model = bn_model()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # (4 + 8) channels: gamma and beta trainable, moving mean and variance not
    assert "Non-trainable params: 24" in text and f"Trainable params: {24 + 4 * 8 + 8 + 8 * 3 + 3:,}" in text
    assert model.count_params() - model.count_trainable_params() == 24
    model.save(tmp_path / "bn.mk")
    loaded = load_model(tmp_path / "bn.mk")
    for name in ("moving_mean", "moving_variance"):
        np.testing.assert_array_equal(loaded.layers[2].params[name], model.layers[2].params[name])
    assert not np.allclose(model.layers[2].params["moving_variance"], 1.0)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert type(loaded.layers[0]).__name__ == "BatchNormalization" and loaded.layers[0].momentum == 0.9


def test_a_small_cnn_with_batch_normalization_after_each_convolution_learns_digits():
    X, y = load_digits()
    X = (X / 16.0)[..., None].astype(np.float32)
    model = Sequential(seed=0, dtype="float32")
    model.add("conv2d", filters=8, kernel_size=3, activation="relu", input_size=(8, 8, 1))
    model.add("batch_normalization", momentum=0.9)  # Keras's 0.99 would keep 17% of the initial statistics after 176 steps
    model.add("conv2d", filters=16, kernel_size=3, activation="relu")
    model.add("batch_normalization", momentum=0.9)
    model.add("max_pooling2d", pool_size=2)
    model.add("flatten")
    model.add("dense", units=10, activation="softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]
    losses = model.fit(X[train], y[train], epochs=4, batch_size=32, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    _, accuracy = model.evaluate(X[test], y[test], verbose=0)
    assert accuracy > 0.85  # about 0.92; with the moving statistics of momentum 0.99, about 0.71


@pytest.mark.parametrize("kwargs, message", [
    ({"renorm": True}, "renorm"),
    ({"gamma_regularizer": "l2"}, "gamma_regularizer"),
    ({"beta_constraint": "non_neg"}, "beta_constraint"),
    ({"axis": (1, 2)}, "axis"),
    ({"momentum": 1.5}, "momentum"),
    ({"epsilon": 0.0}, "epsilon"),
])
def test_what_it_cannot_do_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get("layer", "batch_normalization", **kwargs)


def test_bad_axes_and_negative_variances_are_refused_at_build():
    with pytest.raises(ValueError, match="batch axis"):
        get("layer", "batch_normalization", axis=0).build((3,))
    with pytest.raises(ValueError, match="axis=3"):
        get("layer", "batch_normalization", axis=3).build((3, 4))
    with pytest.raises(ValueError, match="moving_variance_initializer"):
        get("layer", "batch_normalization", moving_variance_initializer={"class_name": "Constant", "config": {"value": -1.0}}).build((3,))
    layer = get("layer", "batch_normalization").build((4, 3))
    with pytest.raises(ValueError, match="mask"):
        layer.forward(np.zeros((2, 4, 3)), training=True, mask=np.ones((2, 3), dtype=bool))
