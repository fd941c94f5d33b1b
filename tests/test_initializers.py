"""Initializers as plugins: the protocol, every form a layer's ``*_initializer`` takes, configs, save and load."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import minikeras_core as keras
from minikeras_core import Sequential, UnknownPluginError, initializers, load_model
from minikeras_core.initializers import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    Identity,
    Initializer,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    VarianceScaling,
    get_initializer,
)
from minikeras_core.registry import REGISTRY

# -- the protocol ---------------------------------------------------------------------------------


def test_a_seed_gives_the_same_values_every_call_whatever_generator_is_passed():
    init = RandomNormal(stddev=0.3, seed=5)
    first = init((4, 3))
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, init((4, 3), rng=np.random.default_rng(9)))
    np.testing.assert_array_equal(first, RandomNormal(stddev=0.3, seed=5)((4, 3)))
    expected = np.random.default_rng(5).normal(0.0, 0.3, size=(4, 3)).astype(np.float32)  # the seed's own generator
    np.testing.assert_array_equal(first, expected)
    assert not np.array_equal(first, RandomNormal(stddev=0.3, seed=6)((4, 3)))


def test_without_a_seed_the_values_come_from_the_generator_passed_else_a_fresh_one():
    init = GlorotUniform()
    a = init((5, 2), rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, init((5, 2), rng=np.random.default_rng(1)))
    assert not np.array_equal(a, init((5, 2), rng=np.random.default_rng(2)))
    assert not np.array_equal(init((5, 2)), init((5, 2)))
    limit = np.sqrt(6 / (5 + 2))
    np.testing.assert_array_equal(a, np.random.default_rng(1).uniform(-limit, limit, (5, 2)).astype(np.float32))


def test_float32_by_default_float64_on_request_and_floatx_followed():
    assert Constant(0.1)((2,)).dtype == np.float32
    assert Constant(0.1)((2,), dtype="float64")[0] == 0.1
    keras.set_floatx("float64")
    try:
        assert HeNormal()((3, 3)).dtype == np.float64
    finally:
        keras.set_floatx("float32")
    with pytest.raises(ValueError, match="dtype"):
        Constant(1)((2,), dtype="int32")


def test_orthogonal_has_orthonormal_columns_or_rows_times_the_gain():
    for shape, gain in [((6, 4), 1.0), ((4, 6), 2.0), ((5, 5), 0.5), ((3, 3, 2, 4), 1.5)]:
        W = Orthogonal(gain=gain)(shape, dtype="float64", rng=np.random.default_rng(0)).reshape(-1, shape[-1])
        small = W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T
        np.testing.assert_allclose(small, gain**2 * np.eye(min(W.shape)), atol=1e-12)
    with pytest.raises(ValueError, match="at least 2-D"):
        Orthogonal()((5,))


def test_keras_errors_for_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match="2-D"):
        Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="scale"):
        VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode"):
        VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution"):
        VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="seed"):
        RandomUniform(seed=1.5)
    with pytest.raises(ValueError, match="value"):
        Constant([1, 2])
    with pytest.raises(ValueError, match="call GlorotUniform"):  # the function form before plugins
        GlorotUniform((3, 4), np.random.default_rng(0), np.float32)
    assert VarianceScaling(distribution="normal").parameters((4, 4))["name"] == "truncated_normal"  # Keras's alias


# -- every identifier get_initializer accepts --------------------------------------------------


def test_names_classes_instances_and_config_dicts():
    assert isinstance(get_initializer("he_normal"), HeNormal)
    assert isinstance(get_initializer("HeNormal"), HeNormal)
    assert isinstance(get_initializer("uniform"), RandomUniform)
    assert isinstance(get_initializer(GlorotNormal), GlorotNormal)
    instance = Identity(gain=3.0)
    assert get_initializer(instance) is instance
    keras_saved = {"module": "keras.initializers", "class_name": "RandomNormal",
                   "config": {"mean": 1.0, "stddev": 0.5, "seed": 3}, "registered_name": None}
    rebuilt = get_initializer(keras_saved)
    assert isinstance(rebuilt, RandomNormal) and (rebuilt.mean, rebuilt.stddev, rebuilt.seed) == (1.0, 0.5, 3)
    assert isinstance(get_initializer(None), GlorotUniform)  # Keras's default for a float weight
    assert initializers.get(None) is None
    assert initializers.deserialize(initializers.serialize(rebuilt)).get_config() == rebuilt.get_config()


def test_unknown_names_get_the_registry_error_with_suggestions():
    with pytest.raises(UnknownPluginError, match="did you mean 'glorot_uniform'"):
        get_initializer("glorot_unifrom")
    with pytest.raises(UnknownPluginError, match="unknown initializer"):
        keras.layers.Dense(2, kernel_initializer="no_such_init", input_shape=(3,)).build()
    with pytest.raises(AttributeError):
        initializers.NoSuchInitializer  # noqa: B018


def test_callables_of_keras_form_and_of_the_form_before_plugins():
    def keras_form(shape, dtype=None):
        return np.full(shape, 2.0, dtype=dtype)

    def old_form(shape, rng, dtype):
        return rng.uniform(size=shape).astype(dtype)

    assert get_initializer(keras_form)((2, 2), dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(get_initializer(lambda shape: np.ones(shape))((3,)), np.ones(3))
    old = get_initializer(old_form)((2, 3), dtype="float32", rng=np.random.default_rng(4))
    np.testing.assert_array_equal(old, np.random.default_rng(4).uniform(size=(2, 3)).astype(np.float32))

    class WrittenForKeras(Initializer):  # overrides __call__(shape, dtype=None), as Keras's documentation shows
        def __call__(self, shape, dtype=None):
            return np.full(shape, 7.0, dtype=dtype)

    np.testing.assert_array_equal(get_initializer(WrittenForKeras())((2,), dtype="float32"), [7.0, 7.0])


def test_an_array_of_values_is_an_initializer_for_its_own_shape():
    values = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(get_initializer(values)((2, 3)), values)
    np.testing.assert_array_equal(get_initializer(values.tolist())((2, 3), dtype="float64"), values)
    with pytest.raises(ValueError, match="shape"):
        get_initializer(values)((3, 2))


# -- in layers, configs, saved models ----------------------------------------------------------


def _roundtrip(model, tmp_path):
    path = tmp_path / "model.mk"
    model.save(path)
    return load_model(path)


def test_dense_with_an_initializer_object_saves_it_and_loads_it(tmp_path):
    layer = keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                               bias_initializer=keras.initializers.Constant(0.25))
    model = keras.Sequential([keras.Input(shape=(300,)), layer], seed=0)
    kernel = model.layers[-1].params["kernel"]
    assert abs(kernel.std() - 0.01) < 0.001 and abs(kernel.mean()) < 0.001
    np.testing.assert_array_equal(model.layers[-1].params["bias"], np.full(4, 0.25, np.float32))

    config = json.loads(json.dumps(layer.get_config()))
    assert config["kernel_initializer"] == {"class_name": "random_normal", "config": {"mean": 0.0, "stddev": 0.01, "seed": None}}
    assert config["bias_initializer"] == {"class_name": "constant", "config": {"value": 0.25}}
    loaded = _roundtrip(model, tmp_path)
    assert loaded.layers[-1].get_config() == config
    assert isinstance(get_initializer(loaded.layers[-1].kernel_initializer), RandomNormal)
    np.testing.assert_array_equal(loaded.get_weights()[0], kernel)
    rebuilt = Sequential.from_config(model.get_config())  # fresh weights from the same seed and initializer
    np.testing.assert_array_equal(rebuilt.get_weights()[0], kernel)


def test_identity_as_a_kernel_and_seeded_initializers_in_layers(tmp_path):
    model = Sequential(seed=3)
    model.add("dense", units=4, kernel_initializer=Identity(gain=2.0), input_size=(4,))
    model.add("dense", units=3, kernel_initializer="identity", bias_initializer={"class_name": "Ones", "config": {}})
    model.add("dense", units=2, kernel_initializer=HeNormal(seed=7))
    weights = model.get_weights()
    np.testing.assert_array_equal(weights[0], 2 * np.eye(4, dtype=np.float32))
    np.testing.assert_array_equal(weights[2], np.eye(4, 3, dtype=np.float32))
    np.testing.assert_array_equal(weights[3], np.ones(3, np.float32))
    np.testing.assert_array_equal(weights[4], HeNormal(seed=7)((3, 2)))  # the seed's values, not the model's draws
    loaded = _roundtrip(model, tmp_path)
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    assert loaded.layers[0].get_config()["kernel_initializer"] == {"class_name": "identity", "config": {"gain": 2.0}}
    X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_conv2d_takes_initializer_objects_with_keras_fans():
    layer = keras.layers.Conv2D(ksize=3, filters=5, kernel_initializer=GlorotNormal(seed=2), bias_initializer=Constant(-1.0),
                                input_size=(6, 6, 4))
    layer.build(dtype="float64")
    np.testing.assert_array_equal(layer.params["kernel"], GlorotNormal(seed=2)((3, 3, 4, 5), dtype="float64"))
    assert GlorotNormal().parameters((3, 3, 4, 5))["stddev"] == pytest.approx(np.sqrt(2 / (36 + 45)) / 0.87962566103423978)
    np.testing.assert_array_equal(layer.params["bias"], -np.ones(5))
    with pytest.raises(ValueError, match="Conv2D layer.*'kernel'.*2-D"):
        keras.layers.Conv2D(ksize=3, filters=5, kernel_initializer="identity", input_size=(6, 6, 4)).build()


def _simple_rnn_takes_initializers():
    try:
        cls = REGISTRY.resolve("layer", "simple_rnn")
    except Exception:  # noqa: BLE001
        return False
    return "recurrent_initializer" in inspect.signature(cls.__init__).parameters


@pytest.mark.skipif(not _simple_rnn_takes_initializers(), reason="the installed simple_rnn takes no recurrent_initializer")
def test_identity_as_a_recurrent_initializer_saves_and_loads(tmp_path):
    model = Sequential(seed=0)
    model.add("simple_rnn", units=3, recurrent_initializer=Identity(), kernel_initializer="orthogonal", input_size=(4, 2))
    params = model.layers[0].params
    np.testing.assert_array_equal(params["recurrent_kernel"], np.eye(3, dtype=np.float32))
    loaded = _roundtrip(model, tmp_path)
    assert loaded.layers[0].get_config()["recurrent_initializer"] == {"class_name": "identity", "config": {"gain": 1.0}}
    X = np.random.default_rng(1).normal(size=(2, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_class_as_initializer_is_saved_by_name_and_a_seeded_model_is_reproducible():
    def build(seed):
        model = Sequential(seed=seed)
        model.add("dense", units=3, kernel_initializer=GlorotNormal, input_size=(5,))
        model.add("dense", units=2, kernel_initializer="orthogonal")
        return model

    assert build(0).layers[0].get_config()["kernel_initializer"] == "glorot_normal"
    for a, b in zip(build(0).get_weights(), build(0).get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(build(0).get_weights()[0], build(1).get_weights()[0])


def test_the_namespace_reads_as_keras():
    assert initializers.glorot_uniform is initializers.GlorotUniform  # Keras exports both spellings of the class
    assert initializers.IdentityInitializer is Identity
    assert {"GlorotUniform", "HeNormal", "Orthogonal", "Identity", "VarianceScaling"} <= set(dir(initializers))
    assert keras.get("initializer", "zeros")((2,)).tolist() == [0.0, 0.0]
