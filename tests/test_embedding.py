"""Embedding: Keras's outputs and gradients, ids of any shape and their checks, the scatter of gradients, masks, models."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from _layer_checks import built
from _recurrent import case_id, check_against_keras, keras_cases

import minikeras_core as mk
from minikeras_core import Sequential, get
from minikeras_core.registry import REGISTRY
from minikeras_core.testing import run_checks

#: keras/src/layers/core/embedding.py: Embedding.__init__'s parameters in order, with their defaults.
KERAS_SIGNATURE = [
    ("input_dim", inspect.Parameter.empty), ("output_dim", inspect.Parameter.empty), ("embeddings_initializer", "uniform"),
    ("embeddings_regularizer", None), ("embeddings_constraint", None), ("mask_zero", False), ("weights", None),
    ("lora_rank", None), ("lora_alpha", None), ("quantization_config", None),
]


def test_registered_with_kerass_signature():
    cls = REGISTRY.resolve("layer", "embedding")
    assert cls is REGISTRY.resolve("layer", "Embedding") and cls.__name__ == "Embedding"
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-1]] == KERAS_SIGNATURE
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize("case", keras_cases("Embedding"), ids=case_id)
def test_outputs_gradients_and_mask_equal_kerass(case):
    check_against_keras(case)
    layer = built("embedding", (5,), **case["kwargs"])
    X = np.array(case["X"])
    mask = layer.compute_mask(X, None)
    assert (mask is None) if case["output_mask"] is None else np.array_equal(mask, case["output_mask"])


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "float32", "float64"])
@pytest.mark.parametrize("shape", [(4,), (2, 3), (1,)])
def test_ids_of_any_shape_and_integer_or_integral_float_dtype(dtype, shape):
    layer = built("embedding", shape, input_dim=6, output_dim=3)
    ids = np.random.default_rng(0).integers(0, 6, (5, *shape))
    Y = layer.forward(ids.astype(dtype))
    assert Y.shape == (5, *shape, 3) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y, layer.params["embeddings"][ids])


@pytest.mark.parametrize("X, message", [
    (np.array([[0.0, 1.5, 2.0]]), "expects integer ids .* got the value 1.5"),
    (np.array([[0.0, np.nan, 2.0]]), "expects integer ids .* got the value nan"),
    (np.array([[0, 6, 2]]), r"ids must be in \[0, 6\) \(input_dim=6\), got 6"),
    (np.array([[0, -1, 2]]), r"ids must be in \[0, 6\) \(input_dim=6\), got -1"),
    (np.array([["a", "b", "c"]]), "expects integer ids, got an array of dtype <U1"),
])
def test_what_is_not_an_id_is_a_value_error_naming_the_layer(X, message):
    layer = get("layer", "embedding", input_dim=6, output_dim=2, name="words").build((3,))
    with pytest.raises(ValueError, match=f"Embedding layer 'words': {message}"):
        layer.forward(X)


def test_the_weight_gradient_adds_repeated_ids_and_there_is_no_input_gradient():
    rng = np.random.default_rng(1)
    layer = built("embedding", (4, 5), input_dim=9, output_dim=3)
    ids = rng.integers(0, 9, (6, 4, 5))
    ids[0, 0, :] = 4  # many repeats of one id
    G = rng.standard_normal((6, 4, 5, 3))
    layer.forward(ids.astype(float), training=True)
    dX = layer.backward(G)
    expected = np.zeros((9, 3))
    np.add.at(expected, ids.reshape(-1), G.reshape(-1, 3))
    np.testing.assert_allclose(layer.grads["embeddings"], expected, rtol=1e-13, atol=1e-14)
    assert dX.shape == ids.shape and dX.dtype == np.float64 and not dX.any()
    layer.forward(ids, training=True)
    assert layer.backward(G, need_input_grad=False) is None
    np.testing.assert_allclose(layer.grads["embeddings"], expected, rtol=1e-13, atol=1e-14)
    # and by central differences of sum(G * Y) with respect to the matrix
    E, numeric = layer.params["embeddings"], np.zeros((9, 3))
    for index in np.ndindex(E.shape):
        saved = E[index]
        E[index] = saved + 1e-6
        plus = np.sum(G * layer.forward(ids))
        E[index] = saved - 1e-6
        numeric[index] = (plus - np.sum(G * layer.forward(ids))) / 2e-6
        E[index] = saved
    np.testing.assert_allclose(expected, numeric, rtol=1e-7, atol=1e-8)


def test_large_ids_of_small_integer_dtypes_scatter_to_their_rows():
    layer = built("embedding", (3,), input_dim=300, output_dim=64)
    Y = layer.forward(np.array([[250, 250, 3]], dtype=np.uint8), training=True)
    layer.backward(np.ones_like(Y))
    sums = layer.grads["embeddings"].sum(axis=1)
    assert sums[250] == 128 and sums[3] == 64 and sums.sum() == 192


def test_samples_are_independent_replicas_train_alone_and_dtypes_are_kept():
    """What the conformance suite checks, with ids instead of normal floats."""
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 7, (5, 4))
    for dtype in ("float32", "float64"):
        layer = built("embedding", (4,), input_dim=7, output_dim=3, dtype=dtype)
        Y = layer.forward(ids.astype(dtype), training=True)
        np.testing.assert_array_equal(Y, np.concatenate([layer.forward(ids[:2]), layer.forward(ids[2:])]))
        assert Y.dtype == dtype and layer.backward(np.ones_like(Y)).dtype == dtype and layer.grads["embeddings"].dtype == dtype
    replica = layer.replica()
    assert replica.params["embeddings"] is layer.params["embeddings"] and replica.grads["embeddings"] is not layer.grads["embeddings"]
    layer.forward(ids[:2], training=True)
    replica.forward(ids[2:], training=True)
    replica.backward(np.ones((3, 4, 3)))
    layer.backward(np.ones((2, 4, 3)))
    assert layer.grads["embeddings"].sum() == 2 * 4 * 3 and replica.grads["embeddings"].sum() == 3 * 4 * 3


def test_initial_weights_input_length_and_uniform_default():
    weights = np.arange(12.0).reshape(4, 3)
    layer = built("embedding", (2,), input_dim=4, output_dim=3, weights=[weights])
    np.testing.assert_array_equal(layer.get_weights()[0], weights)
    assert get("layer", "embedding", input_dim=4, output_dim=3, input_length=7).input_size == (7,)
    with pytest.raises(ValueError, match="input_length=7 disagrees with the input shape"):
        get("layer", "embedding", input_dim=4, output_dim=3, input_length=7, input_shape=(5,))
    with pytest.raises(ValueError, match=r"weights must have shape \(input_dim, output_dim\) = \(4, 2\)"):
        get("layer", "embedding", input_dim=4, output_dim=2, weights=weights)
    model = Sequential()
    model.add("embedding", input_dim=4, output_dim=3, input_length=7)
    with pytest.raises(ValueError, match=r"has samples of shape \(5,\), the model expects \(7,\)"):
        model.predict(np.zeros((2, 5)))
    E = built("embedding", (2,), input_dim=500, output_dim=40, seed=3).params["embeddings"]
    assert 0.045 < np.abs(E).max() <= 0.05 and abs(E.mean()) < 0.002  # Keras's "uniform": U(-0.05, 0.05)
    config = json.loads(json.dumps(mk.registry.serialize(layer)))
    assert config["config"]["weights"] is None and config["config"]["input_dim"] == 4  # the matrix is saved as a weight


@pytest.mark.parametrize("kwargs, message", [
    ({"embeddings_regularizer": "l2"}, "embeddings_regularizer='l2' is not supported"),
    ({"embeddings_constraint": "non_neg"}, "embeddings_constraint='non_neg' is not supported"),
    ({"lora_rank": 4}, "lora_rank=4 is not supported"),
    ({"input_dim": 0}, "input_dim"),
    ({"output_dim": 2.0}, "output_dim"),
])
def test_what_it_cannot_do_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=f"Embedding: {message}"):
        get("layer", "embedding", **{"input_dim": 5, "output_dim": 2, **kwargs})


@pytest.mark.parametrize("recurrent", ["lstm", "gru", "simple_rnn"])
def test_padding_masked_by_mask_zero_changes_no_prediction(recurrent):
    """pad_sequences pads in front with 0: with mask_zero the recurrent layer keeps its state over it."""
    rng = np.random.default_rng(4)
    short = Sequential(seed=0, dtype="float64")
    short.add("embedding", input_dim=20, output_dim=4, mask_zero=True, input_shape=(5,))
    short.add(recurrent, units=3)
    long = Sequential(seed=1, dtype="float64")
    long.add("embedding", input_dim=20, output_dim=4, mask_zero=True, input_shape=(8,))
    long.add(recurrent, units=3)
    long.set_weights(short.get_weights())
    ids = rng.integers(1, 20, (6, 5))
    padded = np.concatenate([np.zeros((6, 3), dtype=int), ids], axis=1)
    np.testing.assert_allclose(long.predict(padded), short.predict(ids), rtol=1e-13)
    unmasked = Sequential(seed=1, dtype="float64")
    unmasked.add("embedding", input_dim=20, output_dim=4, input_shape=(8,))
    unmasked.add(recurrent, units=3)
    unmasked.set_weights(short.get_weights())
    assert not np.allclose(unmasked.predict(padded), short.predict(ids))  # without the mask the padding counts


def test_conformance_suite_checks_it_on_ids():
    """conformance_inputs gives ids: every check runs, but the input gradient's (ids are not differentiable)."""
    results = run_checks(["layer:embedding"])
    assert all(r.ok for r in results)
    assert [r.check for r in results if r.status != "passed"] == ["layer_grad_input_matches_finite_differences"]


def test_more_ids_than_the_model_dtype_holds_exactly_is_an_error():
    with pytest.raises(ValueError, match=r"input_dim 16777217 is more ids than float32 holds exactly \(up to 16,777,216\)"):
        mk.Sequential(dtype="float32").add("embedding", input_dim=2**24 + 1, output_dim=1, input_shape=(3,))
