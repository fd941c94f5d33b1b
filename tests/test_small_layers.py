"""InputLayer, Dropout, Activation, Softmax, ReLU and Reshape: Keras's values, gradients, models, threads, saving."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad
from conftest import numerical_gradient

import minikeras_core as mk
from minikeras_core import Input, Sequential, get
from minikeras_core.engine import threads as engine_threads
from minikeras_core.registry import REGISTRY, is_registered_as

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "layer_reference.json").read_text())


def arr(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def dropout_layer(input_shape: tuple, **kwargs):
    """A float64 Dropout built for ``input_shape`` (``built``'s own ``seed`` would swallow the layer's)."""
    return get("layer", "dropout", **kwargs).build(input_shape, dtype="float64", rng=np.random.default_rng(0))


# -- names and signatures ------------------------------------------------------------------------

#: Keras 3's parameters in order, with their defaults (keras/src/layers/...), ``**kwargs`` last.
KERAS_SIGNATURES = {
    "InputLayer": [("shape", None), ("batch_size", None), ("dtype", None), ("sparse", None), ("ragged", None),
                   ("batch_shape", None), ("input_tensor", None), ("optional", False), ("name", None)],
    "Dropout": [("rate", inspect.Parameter.empty), ("noise_shape", None), ("seed", None)],
    "Activation": [("activation", inspect.Parameter.empty)],
    "Softmax": [("axis", -1)],
    "ReLU": [("max_value", None), ("negative_slope", 0.0), ("threshold", 0.0)],
    "Reshape": [("target_shape", inspect.Parameter.empty)],
}


@pytest.mark.parametrize("class_name, entry", [("InputLayer", "input_layer"), ("Dropout", "dropout"), ("Activation", "activation"),
                                               ("Softmax", "softmax"), ("ReLU", "relu"), ("Reshape", "reshape")])
def test_registered_under_kerass_names_with_kerass_signature(class_name, entry):
    cls = REGISTRY.resolve("layer", entry)
    assert cls is REGISTRY.resolve("layer", class_name) and cls.__name__ == class_name
    assert getattr(__import__("minikeras_core.layers", fromlist=[class_name]), class_name) is cls
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-1]] == KERAS_SIGNATURES[class_name]
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD
    # a layer of that name, not the activation of the same name
    assert REGISTRY.resolve("activation", "relu") is not REGISTRY.resolve("layer", "relu")


# -- InputLayer ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{"shape": (3, 2)}, {"batch_shape": (None, 3, 2)}, {"batch_shape": (8, 3, 2)},
                                    {"input_shape": (3, 2)}, {"batch_input_shape": (None, 3, 2)}, {"input_size": (3, 2)}])
def test_input_layer_is_the_identity_on_its_shape(kwargs):
    layer = get("layer", "InputLayer", **kwargs)
    assert layer.input_size == (3, 2)
    layer.build(None, dtype="float64")
    X = np.random.default_rng(0).standard_normal((4, 3, 2))
    np.testing.assert_array_equal(layer.forward(X), X)
    assert layer.batch_size == (8 if kwargs.get("batch_shape", (None,))[0] == 8 else None)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give shape"),
    ({"shape": (None, 4)}, r"unknown \(None\)"),
    ({"shape": (3,), "input_shape": (4,)}, "disagree"),
    ({"shape": (3,), "batch_shape": (None, 3)}, None),  # the same shape twice is fine
    ({"shape": (0, 2)}, "positive ints"),
    ({"shape": (3,), "sparse": True}, "sparse=True"),
    ({"shape": (3,), "ragged": True}, "ragged=True"),
    ({"batch_shape": (4, 3), "batch_size": 4}, "not both"),
])
def test_input_layer_refuses_what_it_cannot_be(kwargs, message):
    if message is None:
        assert get("layer", "InputLayer", **kwargs).input_size == (3,)
        return
    with pytest.raises(ValueError, match=message):
        get("layer", "InputLayer", **kwargs)


def test_keras_input_starts_a_model_in_the_list_and_at_the_first_add(tmp_path):
    X, y = np.random.default_rng(1).standard_normal((20, 4)), np.arange(20) % 3
    listed = Sequential([Input(shape=(4,)), get("layer", "dense", units=3, activation="softmax")], seed=0)
    added = Sequential(seed=0)
    first = added.add(Input(shape=(4,), name="x"))
    added.add("dense", units=3, activation="softmax")
    for model in (listed, added):
        assert len(model.layers) == 1 and model.input_shape == (4,) and model.built
        assert not any(is_registered_as(layer, "InputLayer") for layer in model.layers)
    assert is_registered_as(first, "input_layer") and first.name == "x"
    np.testing.assert_array_equal(listed.predict(X), added.predict(X))
    added.compile("categorical_crossentropy", optimizer="sgd")
    added.fit(X, y, epochs=1, verbose=0)
    added.save(tmp_path / "m.mk")
    np.testing.assert_array_equal(mk.load_model(tmp_path / "m.mk").predict(X), added.predict(X))
    with pytest.raises(ValueError, match="only come first"):
        added.add(Input(shape=(3,)))


def test_input_layers_integer_dtype_is_recorded_and_a_float_one_computes():
    assert get("layer", "InputLayer", shape=(2,), dtype="int32").input_dtype == "int32"
    layer = get("layer", "InputLayer", shape=(2,), dtype="float64").build(None)
    assert layer.forward(np.ones((1, 2))).dtype == np.float64


# -- Dropout -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", REFERENCE["dropout"], ids=lambda c: f"rate={c['rate']}")
def test_dropout_scales_kept_entries_and_keeps_the_fraction_kerass_does(case):
    rate, n = case["rate"], 4000 * 5
    layer = dropout_layer((5,), rate=rate, seed=3)
    Y = layer.forward(np.ones((4000, 5)), training=True)
    np.testing.assert_allclose(sorted(set(np.round(Y.ravel(), 12).tolist())), case["values"], rtol=1e-12)  # {0, 1 / (1 - rate)}
    sigma = np.sqrt(rate * (1 - rate) / n)
    assert abs((Y != 0).mean() - (1 - rate)) < 5 * sigma
    assert abs(case["kept"] - (1 - rate)) < 5 * sigma  # Keras's own draw, for scale


def test_dropout_is_the_identity_outside_training_and_at_rate_0_and_drops_all_at_rate_1():
    X = arr(REFERENCE["dropout_inference"])
    np.testing.assert_array_equal(built("dropout", (3,), rate=0.5).forward(X, training=False), X)
    np.testing.assert_array_equal(built("dropout", (3,), rate=0.0).forward(X, training=True), X)
    layer = built("dropout", (3,), rate=1.0)
    np.testing.assert_array_equal(layer.forward(X + 1, training=True), np.zeros_like(X))
    np.testing.assert_array_equal(layer.backward(np.ones_like(X)), np.zeros_like(X))


def test_dropout_gradient_is_the_mask_over_the_keep_probability():
    rate = 0.4
    layer = dropout_layer((6, 5), rate=rate, seed=2)
    X = np.random.default_rng(0).uniform(1, 2, (7, 6, 5))  # no zero inputs: Y != 0 marks the kept entries
    Y = layer.forward(X, training=True)
    G = np.random.default_rng(1).standard_normal(Y.shape)
    np.testing.assert_allclose(layer.backward(G), G * (Y != 0) / (1 - rate), rtol=1e-15)
    np.testing.assert_allclose(Y, X * (Y != 0) / (1 - rate), rtol=1e-15)
    # and against finite differences of the training forward (the mask is fixed outside fit)
    X = X[:2].copy()
    Y = layer.forward(X, training=True)
    dX = layer.backward(G[:2])
    np.testing.assert_allclose(dX, numerical_gradient(lambda: float(np.sum(G[:2] * layer.forward(X, training=True))), X), atol=1e-8)


def test_dropout_noise_shape_shares_the_mask_as_keras_broadcasts_it():
    case = REFERENCE["dropout_shared"]
    layer = dropout_layer(tuple(case["input_shape"][1:]), rate=case["rate"], noise_shape=tuple(case["noise_shape"]), seed=1)
    Y = layer.forward(np.ones(case["input_shape"]), training=True)
    assert bool((Y == Y[:, :1]).all()) == case["same_along_steps"] is True
    assert not (Y == Y[:1]).all()  # but not across samples
    shared = dropout_layer((3, 4), rate=0.5, noise_shape=(1, 3, None), seed=1)
    Y = shared.forward(np.ones((6, 3, 4)), training=True)
    assert (Y == Y[:1]).all() and not shared.parallel_training  # one mask for the batch: trained in one piece
    with pytest.raises(ValueError, match=r"noise_shape \(None, 2, 4\) does not broadcast"):
        built("dropout", (3, 4), rate=0.5, noise_shape=(None, 2, 4))
    with pytest.raises(ValueError, match="noise_shape must be"):
        get("layer", "dropout", rate=0.5, noise_shape="batch")


@pytest.mark.parametrize("kwargs, message", [({"rate": 1.5}, "rate"), ({"rate": -0.1}, "rate"), ({"rate": 0.5, "seed": -1}, "seed")])
def test_dropout_bad_arguments_name_themselves(kwargs, message):
    with pytest.raises(ValueError, match=f"Dropout: {message}"):
        get("layer", "dropout", **kwargs)


def _dropout_model(seed=0, noise_shape=None) -> Sequential:
    model = Sequential(seed=seed, dtype="float64")
    model.add("dense", units=16, activation="relu", input_shape=(6, 4))
    model.add("dropout", rate=0.4, noise_shape=noise_shape)
    model.add("flatten")
    model.add("dense", units=3, activation="softmax")
    model.compile("categorical_crossentropy", optimizer="adam")
    return model


def _data():
    rng = np.random.default_rng(5)
    return rng.standard_normal((60, 6, 4)), rng.integers(0, 3, 60)


def test_a_seeded_fit_with_dropout_is_reproducible_and_dropout_acts():
    X, y = _data()
    runs = []
    for _ in range(2):
        model = _dropout_model()
        history = model.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=4)
        runs.append((model.get_weights(), history.history["loss"]))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]
    without = _dropout_model()
    without.layers[1].rate = 0.0
    without.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=4)
    assert not np.allclose(without.get_weights()[0], runs[0][0][0])
    model = _dropout_model()
    np.testing.assert_array_equal(model.predict(X), model.predict(X))  # inference is deterministic


@pytest.mark.parametrize("noise_shape", [None, (None, 1, 16)])
def test_fit_with_dropout_in_parts_on_threads_equals_one_thread(noise_shape, use_parts, need_threads, monkeypatch):
    X, y = _data()
    parts_run, real_run = [], engine_threads.Workers.run

    def counting_run(self, work, arguments):
        arguments = list(arguments)
        parts_run.append(len(arguments))
        return real_run(self, work, arguments)

    monkeypatch.setattr(engine_threads.Workers, "run", counting_run)
    results = []
    for threads in (False, True):
        use_parts(threads)
        model = _dropout_model(noise_shape=noise_shape)
        history = model.fit(X, y, epochs=2, batch_size=25, verbose=0, seed=1)
        results.append(model.get_weights() + [np.array(history.history["loss"])])
    assert max(parts_run) > 1  # the second run did cut its batches into parts
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-13)


# -- Activation ----------------------------------------------------------------------------------

def test_activation_layer_takes_any_activation_by_name_class_or_instance():
    X = np.random.default_rng(2).standard_normal((3, 4))
    tanh_class = REGISTRY.resolve("activation", "tanh")
    for given in ("tanh", "Tanh", tanh_class, tanh_class()):
        np.testing.assert_allclose(built("activation", (4,), activation=given).forward(X), np.tanh(X), rtol=1e-15)
    np.testing.assert_array_equal(built("activation", (4,), activation=None).forward(X), X)
    layer = built("activation", (4,), activation="sigmoid")
    check_gradients(layer, X)
    check_skips_input_grad(layer, X)
    with pytest.raises(ValueError, match="swoosh"):
        get("layer", "activation", activation="swoosh")


@pytest.mark.parametrize("last", [("activation", {"activation": "softmax"}), ("softmax", {})])
def test_a_softmax_layer_last_trains_exactly_as_a_dense_softmax(last):
    """The layer's softmax over the last axis fuses with cross-entropy (p - y), as the dense layer's activation does."""
    X, y = np.random.default_rng(3).standard_normal((40, 5)), np.arange(40) % 4
    fused = Sequential(seed=0, dtype="float64")
    fused.add("dense", units=4, activation="softmax", input_shape=(5,))
    split = Sequential(seed=0, dtype="float64")
    split.add("dense", units=4, input_shape=(5,))
    split.add(last[0], **last[1])
    for model in (fused, split):
        model.compile("categorical_crossentropy", optimizer="sgd")
        model.fit(X, y, epochs=3, batch_size=8, verbose=0, seed=0)
    for a, b in zip(fused.get_weights(), split.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-15)


# -- Softmax -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", REFERENCE["softmax"], ids=lambda c: f"axis={c['axis']}")
def test_softmax_layer_matches_keras_over_any_axis(case):
    X, R = arr(case["X"]), arr(case["R"])
    axis = tuple(case["axis"]) if isinstance(case["axis"], list) else case["axis"]
    layer = built("softmax", X.shape[1:], axis=axis)
    np.testing.assert_allclose(layer.forward(X, training=True), arr(case["Y"]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.backward(R), arr(case["dX"]), rtol=1e-10, atol=1e-13)
    check_gradients(layer, X)


def test_softmax_layer_is_stable_for_large_logits_in_float32_too():
    case = REFERENCE["softmax_large"]
    for axis in (-1, 1):
        for dtype in ("float64", "float32"):
            Y = built("softmax", (3,), axis=axis, dtype=dtype).forward(arr(case["X"]).astype(dtype))
            assert Y.dtype == dtype
            np.testing.assert_allclose(Y, arr(case["Y"]), rtol=1e-6 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("axis", [0, -3, 3, (1, 0), "last", 1.0, (2, -1)])
def test_softmax_refuses_the_batch_axis_and_axes_it_lacks_or_repeats(axis):
    with pytest.raises(ValueError, match=r"axis.*(expected|must name distinct axes)"):
        built("softmax", (2, 3), axis=axis)


# -- ReLU ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", REFERENCE["relu"], ids=lambda c: "-".join(f"{k}={v}" for k, v in c["kwargs"].items()))
def test_relu_layer_follows_kerass_formula(case):
    layer = built("relu", (len(case["kinks"]),), **case["kwargs"])
    np.testing.assert_allclose(layer.forward(arr(case["kinks"])[None]), arr(case["Y_kinks"])[None], rtol=1e-15, atol=1e-15)
    X = arr(case["X"])
    layer = built("relu", X.shape[1:], **case["kwargs"])
    np.testing.assert_allclose(layer.forward(X, training=True), arr(case["Y"]), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(layer.backward(arr(case["R"])), arr(case["dX"]), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("kwargs", [{"max_value": -1.0}, {"negative_slope": -0.1}, {"negative_slope": None},
                                    {"threshold": -0.5}, {"threshold": None}, {"max_value": "6"}])
def test_relu_bad_arguments_name_themselves(kwargs):
    with pytest.raises(ValueError, match=f"ReLU: {next(iter(kwargs))}"):
        get("layer", "relu", **kwargs)


def test_relu_layer_keeps_float32():
    layer = built("relu", (4,), dtype="float32", max_value=2, negative_slope=0.2, threshold=0.5)
    Y = layer.forward(np.linspace(-3, 3, 8, dtype=np.float32).reshape(2, 4), training=True)
    assert Y.dtype == layer.backward(np.ones_like(Y)).dtype == np.float32


# -- Reshape -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", REFERENCE["reshape"], ids=lambda c: str(c["target_shape"]))
def test_reshape_matches_keras_with_and_without_minus_one(case):
    X = arr(case["X"])
    layer = built("reshape", X.shape[1:], target_shape=tuple(case["target_shape"]))
    assert (None,) + layer.output_shape == tuple(case["output_shape"])
    Y = layer.forward(X, training=True)
    np.testing.assert_array_equal(Y, arr(case["Y"]))
    G = np.random.default_rng(0).standard_normal(Y.shape)
    np.testing.assert_array_equal(layer.backward(G), G.reshape(X.shape))


@pytest.mark.parametrize("target_shape, message", [((5,), "cannot reshape"), ((-1, 5), "cannot reshape"),
                                                   ((-1, -1), "one -1"), ((0, 12), "positive ints"), (("a",), "positive ints")])
def test_reshape_refuses_shapes_that_do_not_fit(target_shape, message):
    with pytest.raises(ValueError, match=message):
        built("reshape", (12,), target_shape=target_shape)


# -- in models -----------------------------------------------------------------------------------

def _by_class():
    from minikeras_core.layers import Activation, Dense, Dropout, InputLayer, ReLU, Reshape, SimpleRNN, Softmax

    return [InputLayer(shape=(6, 4)), SimpleRNN(5, return_sequences=True), Dropout(0.2, noise_shape=(None, 1, 5), seed=1),
            Reshape((-1,)), ReLU(max_value=3.0, negative_slope=0.1), Dense(8), Activation("tanh"), Dense(3), Softmax()]


def _by_string(model: Sequential) -> None:
    model.add(Input(shape=(6, 4)))
    model.add("simple_rnn", units=5, return_sequences=True)
    model.add("Dropout", rate=0.2, noise_shape=(None, 1, 5), seed=1)
    model.add("reshape", target_shape=(-1,))
    model.add("relu", max_value=3.0, negative_slope=0.1)
    model.add("dense", units=8)
    model.add("activation", activation="tanh")
    model.add("dense", units=3)
    model.add("softmax", axis=-1)


@pytest.mark.parametrize("how", ["class", "string"])
def test_a_model_of_every_layer_fits_saves_and_loads(how, tmp_path):
    X, y = _data()
    model = Sequential(_by_class() if how == "class" else None, seed=0)
    if how == "string":
        _by_string(model)
    assert [type(layer).__name__ for layer in model.layers] == [
        "SimpleRNN", "Dropout", "Reshape", "ReLU", "Dense", "Activation", "Dense", "Softmax"]
    model.compile("categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    before = model.evaluate(X, y, verbose=0)[0]
    model.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=2)
    assert model.evaluate(X, y, verbose=0)[0] < before
    path = tmp_path / f"{how}.mk"
    model.save(path)
    restored = mk.load_model(path)
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.get_config() == model.get_config()
    restored.fit(X, y, epochs=1, batch_size=16, verbose=0, seed=3)  # and trains on
