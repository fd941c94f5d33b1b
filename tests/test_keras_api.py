"""``import minikeras_core as keras``: Keras's namespaces, call forms and utilities, next to the seed's forms."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minikeras_core as keras
from minikeras_core.registry import REGISTRY

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "utils_reference.json").read_text())


def data(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)


def dense_model(seed: int = 0) -> keras.Sequential:
    model = keras.Sequential(seed=seed, dtype="float64")
    model.add("dense", units=5, activation="tanh", input_shape=(4,))
    model.add("dense", units=3, activation="softmax")
    return model


def test_the_package_reads_as_keras_top_level_module():
    assert keras.layers.Dense is type(keras.get("layer", "dense", units=1))
    assert keras.losses.CategoricalCrossentropy is keras.losses.categorical_crossentropy
    assert keras.optimizers.Adam is keras.optimizers.adam
    assert keras.metrics.SparseCategoricalAccuracy is REGISTRY.resolve("metric", "sparse_categorical_accuracy")
    assert keras.models.Sequential is keras.Sequential and keras.models.load_model is keras.load_model
    assert keras.callbacks.EarlyStopping.__name__ == "EarlyStopping"
    assert keras.backend.image_data_format() == keras.config.image_data_format() == "channels_last"
    assert keras.backend.floatx() == "float32"
    assert keras.utils.pad_sequences is keras.preprocessing.sequence.pad_sequences
    from minikeras_core.metrics import TopKCategoricalAccuracy  # noqa: F401 - importable as from keras.metrics
    from minikeras_core.preprocessing.sequence import pad_sequences  # noqa: F401


def test_the_keras_namespaces_import_no_plugin_until_used():
    code = "import json, sys; import minikeras_core as keras; dir(keras.layers); dir(keras.metrics); " \
           "print(json.dumps(sorted(m for m in sys.modules if m.startswith('minikeras_plugins.'))))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded == []


@pytest.mark.parametrize("case", REFERENCE["pad_sequences"], ids=lambda c: json.dumps(c["kwargs"]))
def test_pad_sequences_equals_keras(case):
    got = keras.utils.pad_sequences(REFERENCE["sequences"], **case["kwargs"])
    np.testing.assert_array_equal(got, np.array(case["expected"], dtype=case["kwargs"].get("dtype", "int32")))
    assert got.dtype == np.dtype(case["kwargs"].get("dtype", "int32"))


def test_pad_sequences_of_vector_steps_and_bad_arguments():
    case = REFERENCE["pad_sequences_steps"]
    np.testing.assert_array_equal(keras.utils.pad_sequences(case["sequences"], maxlen=3), case["expected"])
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post'"):
        keras.utils.pad_sequences([[1]], padding="middle")


@pytest.mark.parametrize("case", REFERENCE["to_categorical"], ids=lambda c: str(c["x"]))
def test_to_categorical_equals_keras(case):
    kwargs = {k: v for k, v in case.items() if k != "expected"}
    np.testing.assert_array_equal(keras.utils.to_categorical(**kwargs), case["expected"])


def test_to_categorical_refuses_what_is_not_a_class_id():
    with pytest.raises(ValueError, match="whole class ids"):
        keras.utils.to_categorical([0.5, 1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        keras.utils.to_categorical([0, 2], num_classes=2)


def test_compile_reads_the_seeds_order_and_keras_order_by_what_the_arguments_are():
    for call in (lambda m: m.compile("categorical_cross_entropy", "adam"),       # the seed: compile(loss, optimizer)
                 lambda m: m.compile("adam", "categorical_crossentropy"),        # Keras: compile(optimizer, loss)
                 lambda m: m.compile("adam", loss="categorical_crossentropy"),
                 lambda m: m.compile("categorical_cross_entropy", optimizer="adam"),
                 lambda m: m.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.CategoricalCrossentropy())):
        model = dense_model()
        call(model)
        assert REGISTRY.name_of(model.loss) == "categorical_cross_entropy" and type(model.optimizer).__name__ == "AdamOptimizer"
    model = dense_model()
    model.compile(keras.losses.CategoricalCrossentropy())  # the original README: the loss alone
    assert type(model.optimizer).__name__ == "GradientDescentOptimizer"


def test_compile_calls_that_could_mean_either_are_errors_naming_both_forms():
    with pytest.raises(TypeError, match="a loss is needed"):
        dense_model().compile("adam")
    with pytest.raises(TypeError, match=r"compile\(loss, optimizer\).*compile\(optimizer, loss\)"):
        dense_model().compile("adam", "sgd")  # two optimizers: neither order
    with pytest.raises(TypeError, match="third as metrics.*loss_weights"):
        dense_model().compile("adam", "mse", ["accuracy"])

    class Twin(keras.Loss):  # a loss registered under an optimizer's name
        def per_sample(self, y_pred, y_true):
            return ((y_pred - y_true) ** 2).mean(axis=-1)

        def per_sample_grad(self, y_pred, y_true):
            return 2 * (y_pred - y_true) / y_pred.shape[-1]

    keras.register("loss", "sgd", Twin)
    try:
        with pytest.raises(TypeError, match="names both a loss and an optimizer"):
            dense_model().compile("sgd", "sgd")
    finally:
        REGISTRY.unregister("loss", "sgd")
    with pytest.raises(ValueError, match="loss_weights is not supported"):
        dense_model().compile("adam", "mse", loss_weights=[1.0])
    dense_model().compile(optimizer="adam", loss="mse", jit_compile=False, run_eagerly=True)  # changes nothing here


def test_fit_takes_keras_keywords_and_refuses_a_third_positional_argument():
    X, y = data()
    keras_style, seed_style = dense_model(), dense_model()
    keras_style.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seed_style.compile("categorical_cross_entropy", optimizer="sgd", metrics=["accuracy"])
    a = keras_style.fit(x=X, y=y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    b = seed_style.fit(X, y, n_epochs=3, batch_size=8, shuffle=False, verbose=0).history
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-12)  # sparse ids and the seed's loss agree
    with pytest.raises(TypeError, match="n_epochs, batch_size.*batch_size, epochs"):
        dense_model().fit(X, y, 10, 8)
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        keras_style.fit(X, y, sample_weight=np.ones(len(X)), verbose=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        keras_style.fit(X, y, epoch=3, verbose=0)
    np.testing.assert_array_equal(keras_style.predict(x=X), keras_style.predict(X))


def test_validation_freq_and_validation_batch_size():
    X, y = data(30)
    model = dense_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(X, y, epochs=4, validation_split=0.2, validation_freq=2, validation_batch_size=2, verbose=0)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2


def test_a_sequential_is_a_layer_of_another():
    X, y = data()
    inner = keras.Sequential([keras.layers.Dense(6, activation="tanh", input_shape=(4,)), keras.layers.Dense(5, activation="relu")],
                             name="features", dtype="float64", seed=1)
    outer = keras.Sequential(seed=2, dtype="float64")
    outer.add(inner)
    outer.add(keras.layers.Dense(3, activation="softmax"))
    assert outer.layers[0] is inner and len(outer.flat_layers) == 3
    assert outer.count_params() == (4 * 6 + 6) + (6 * 5 + 5) + (5 * 3 + 3) == len(np.concatenate([w.ravel() for w in outer.get_weights()]))
    lines = []
    outer.summary(print_fn=lines.append)
    assert "features (Sequential)" in lines[0] and "(None, 5)" in lines[0]
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = inner.get_weights()[0].copy()
    outer.fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert not np.array_equal(inner.get_weights()[0], before)  # the nested model's layers trained
    last = outer.layers[1].params
    logits = inner.predict(X) @ last["kernel"] + last["bias"]  # by hand: the nested model, then the last Dense
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(outer.predict(X), expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)
    rebuilt = keras.Sequential.from_config(json.loads(json.dumps(outer.get_config())))
    assert isinstance(rebuilt.layers[0], keras.Sequential) and rebuilt.layers[0].name == "features"
    rebuilt.set_weights(outer.get_weights())
    np.testing.assert_allclose(rebuilt.predict(X), outer.predict(X), rtol=1e-12)


def test_a_nested_model_saves_and_loads(tmp_path):
    X, y = data()
    inner = keras.Sequential([keras.layers.Dense(5, activation="relu", input_shape=(4,))], dtype="float64")
    outer = keras.Sequential([inner, keras.layers.Dense(3, activation="softmax")], dtype="float64")
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    outer.fit(X, y, epochs=1, verbose=0)
    outer.save(tmp_path / "nested.mk")
    loaded = keras.models.load_model(tmp_path / "nested.mk")
    np.testing.assert_allclose(loaded.predict(X), outer.predict(X), rtol=1e-12)
    assert isinstance(loaded.layers[0], keras.Sequential)


def test_a_nested_model_must_fit_the_shape_before_it():
    inner = keras.Sequential([keras.layers.Dense(2, input_shape=(7,))])
    outer = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError, match=r"takes samples of shape \(7,\) but the previous layer outputs \(3,\)"):
        outer.add(inner)


def test_set_random_seed_makes_unseeded_models_reproducible():
    def weights_after_seeding():
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.layers.Dense(3, input_shape=(2,))])
        return model.get_weights()[0], np.random.rand()

    try:
        first, second = weights_after_seeding(), weights_after_seeding()
        np.testing.assert_array_equal(first[0], second[0])
        assert first[1] == second[1]  # numpy's global generator too
        assert not np.array_equal(keras.Sequential([keras.layers.Dense(3, input_shape=(2,))]).get_weights()[0], first[0])
    finally:
        keras.backend._SEEDS = None


def test_add_by_name_passes_a_layer_argument_on_to_the_layer():
    """Bidirectional's Keras argument is called layer, as add's first parameter is: add takes its own positionally."""
    model = keras.Sequential([keras.Input(shape=(5, 3))])
    wrapper = model.add("bidirectional", layer=keras.layers.LSTM(4))
    assert type(wrapper).__name__ == "Bidirectional" and model.output_shape == (8,)
