"""One test per bad input of issue 6, point 5: each error names the argument or layer, what it got and what it expected."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras_core as mk


def model(loss="categorical_cross_entropy", units=3, compile=True):
    m = mk.Sequential(seed=0)
    m.add("dense", units=4, activation="relu", input_size=(5,))
    m.add("dense", units=units, activation="softmax" if units > 1 else "sigmoid")
    if compile:
        m.compile(loss)
    return m


X = np.random.default_rng(0).normal(size=(6, 5))
Y = np.array([0, 1, 2, 0, 1, 2])


def test_x_and_y_of_different_lengths():
    with pytest.raises(ValueError, match=r"fit\(\): X has 6 samples but y has 5; expected the same number"):
        model().fit(X, Y[:5], verbose=0)
    with pytest.raises(ValueError, match=r"X_val \(validation_data\) has 6 samples but y_val \(validation_data\) has 2"):
        model().fit(X, Y, validation_data=(X, Y[:2]), verbose=0)


def test_sample_shape_that_does_not_match_input_size():
    with pytest.raises(ValueError, match=r"fit\(\): X has samples of shape \(4,\), the model expects \(5,\) \(input_size of its first layer 'dense'\)"):
        model().fit(X[:, :4], Y, verbose=0)
    with pytest.raises(ValueError, match=r"predict\(\): X has samples of shape \(5, 1\)"):
        model().predict(X[..., None])


def test_a_layer_that_cannot_follow_fails_at_add():
    class NeedsImages(mk.Layer):
        """Accepts only (h, w, c) inputs."""

        def compute_output_shape(self, input_shape):
            if len(input_shape) != 3:
                raise ValueError(f"{self._label}: expected an input of shape (height, width, channels), got {input_shape}")
            return input_shape

        def call(self, X, training=False):
            return X

        def call_backward(self, grad):
            return grad

    m = model(compile=False)
    with pytest.raises(ValueError, match=r"NeedsImages layer 'needs_images': expected an input of shape \(height, width, channels\), got \(3,\)"):
        m.add(NeedsImages())
    assert len(m.layers) == 2  # nothing was added
    with pytest.raises(ValueError, match=r"Dense layer 'dense_2': input_size is \(4,\) but the previous layer outputs \(3,\)"):
        m.add("dense", units=2, input_size=(4,))
    m.add("flatten")  # Flatten follows anything
    m.add("dense", units=2)


def test_nan_or_infinity_in_x_or_y():
    bad = X.copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"fit\(\): X contains NaN or infinity; expected finite numbers"):
        model().fit(bad, Y, verbose=0)
    y = np.eye(3)[Y]
    y[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"evaluate\(\): y contains NaN or infinity"):
        model().evaluate(X, y)
    with pytest.raises(ValueError, match=r"predict\(\): X contains NaN or infinity \(in samples 0\.\.5\)"):
        model().predict(bad)


def test_non_numeric_arrays():
    with pytest.raises(TypeError, match=r"fit\(\): X must be numeric, got an array of dtype <U1"):
        model().fit(np.full((6, 5), "a"), Y, verbose=0)
    with pytest.raises(TypeError, match=r"fit\(\): y must be numeric, got an array of dtype object"):
        model().fit(X, np.array([None] * 6), verbose=0)


def test_empty_data():
    with pytest.raises(ValueError, match=r"fit\(\): X is empty \(shape \(0, 5\)\); expected at least one sample"):
        model().fit(np.zeros((0, 5)), np.zeros((0,)), verbose=0)
    with pytest.raises(ValueError, match=r"predict\(\): X is empty"):
        model().predict(np.zeros((0, 5)))


@pytest.mark.parametrize("value", [0, -3, 1.5, True])
def test_batch_size_not_positive(value):
    with pytest.raises(ValueError, match=rf"batch_size: expected a positive integer, got {value!r}"):
        model().fit(X, Y, batch_size=value, verbose=0)


@pytest.mark.parametrize("keyword", ["n_epochs", "epochs"])
def test_n_epochs_not_positive(keyword):
    with pytest.raises(ValueError, match=r"n_epochs: expected a positive integer, got 0"):
        model().fit(X, Y, verbose=0, **{keyword: 0})


def test_labels_out_of_range_for_the_loss():
    with pytest.raises(ValueError, match=r"y holds class ids from 0 to 3, but the model has 3 outputs; the loss (?i:CategoricalCrossEntropy) expects ids in \[0, 2\]"):
        model().fit(X, np.array([0, 1, 2, 3, 0, 1]), verbose=0)
    with pytest.raises(ValueError, match=r"class ids from -1 to 2"):
        model().evaluate(X, np.array([-1, 1, 2, 0, 0, 1]))
    with pytest.raises(ValueError, match=r"y holds values from 0\.0 to 2\.0, but the loss (?i:BinaryCrossEntropy) expects targets in \[0\.0, 1\.0\]"):
        model("binary_cross_entropy", units=1).fit(X, np.array([0, 1, 2, 0, 1, 0.0]), verbose=0)
    with pytest.raises(ValueError, match=r"the loss (?i:BinaryCrossEntropy) takes targets of the output's shape \(3,\)"):
        model("binary_cross_entropy").fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match=r"y has samples of shape \(4,\) but the model outputs \(3,\)"):
        model().fit(X, np.zeros((6, 4)), verbose=0)


def test_fit_evaluate_and_batch_methods_before_compile_are_value_errors_as_in_keras():
    with pytest.raises(ValueError, match=r"sequential: you must call compile\(loss, optimizer\) before fit\(\)"):
        model(compile=False).fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match=r"before evaluate\(\)"):
        model(compile=False).evaluate(X, Y)
    with pytest.raises(ValueError, match=r"before train_on_batch\(\)"):
        model(compile=False).train_on_batch(X, Y)
    with pytest.raises(ValueError, match=r"before test_on_batch\(\)"):
        model(compile=False).test_on_batch(X, Y)


def test_a_loss_that_becomes_nan_stops_naming_the_epoch_and_batch():
    class Poison(mk.Callback):
        def on_epoch_begin(self, model, epoch, logs):
            self.epoch = epoch

        def on_batch_end(self, model, batch, logs):
            if (self.epoch, batch) == (1, 1):
                model.layers[0].params["kernel"][...] = np.nan

    m = model()
    with pytest.raises(FloatingPointError, match=r"the loss became nan at epoch 2, batch 3 \(of 3\)"):
        m.fit(X, Y, epochs=3, batch_size=2, verbose=0, callbacks=[Poison()])


def test_bad_validation_arguments():
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\), got 1\.0"):
        model().fit(X, Y, validation_split=1.0, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split=0\.9 of 6 samples leaves 0 for training and 6 for validation"):
        model().fit(X, Y, validation_split=0.9, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be a pair"):
        model().fit(X, Y, validation_data=X, verbose=0)
