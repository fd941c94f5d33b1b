"""Bidirectional: Keras's outputs and gradients for each merge mode, weights, configs, masks, dropout, models."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad
from _recurrent import (
    MASK,
    case_id,
    check_against_keras,
    check_dropout_trains_alike_in_parts,
    check_gradients_in_training,
    check_learns_toy_reviews_and_reloads,
    keras_cases,
)
from conftest import numerical_gradient

import minikeras_core as mk
from minikeras_core import Sequential, get
from minikeras_core.registry import REGISTRY


def lstm(**kwargs) -> dict:
    return {"class_name": "lstm", "config": {"units": 3, **kwargs}}


def test_registered_with_kerass_signature():
    cls = REGISTRY.resolve("layer", "bidirectional")
    assert cls is REGISTRY.resolve("layer", "Bidirectional") and cls.__name__ == "Bidirectional"
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-1]] == [
        ("layer", inspect.Parameter.empty), ("merge_mode", "concat"), ("weights", None), ("backward_layer", None)]
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize("case", keras_cases("Bidirectional"), ids=case_id)
def test_outputs_and_gradients_equal_kerass(case):
    """Each merge mode, LSTM, GRU and SimpleRNN inside, masks (zeros at masked steps of returned sequences, as Keras)."""
    check_against_keras(case)


def test_weights_are_the_forward_layers_then_the_backward_layers():
    layer = built("bidirectional", (5, 4), layer=get("layer", "gru", units=3))
    names = ["kernel", "recurrent_kernel", "bias"]
    assert list(layer.params) == [f"forward/{n}" for n in names] + [f"backward/{n}" for n in names]
    assert [w.shape for w in layer.get_weights()] == [(4, 9), (3, 9), (2, 9)] * 2
    assert layer.forward_layer.params["kernel"] is layer.params["forward/kernel"]
    assert not layer.forward_layer.go_backwards and layer.backward_layer.go_backwards
    assert layer.output_shape == (6,) and layer.count_params() == 2 * (36 + 27 + 18)
    weights = [np.full(w.shape, k, dtype=float) for k, w in enumerate(layer.get_weights())]
    again = built("bidirectional", (5, 4), layer=lstm(), weights=[np.ones((4, 12)), np.ones((3, 12)), np.ones(12)] * 2)
    assert all((w == 1).all() for w in again.get_weights())
    layer.set_weights(weights)
    assert (layer.backward_layer.params["bias"] == 5).all()


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("inner", [lstm(), lstm(return_sequences=True), {"class_name": "gru", "config": {"units": 3, "reset_after": False}},
                                   {"class_name": "simple_rnn", "config": {"units": 3, "return_sequences": True}}])
def test_gradients_match_finite_differences(merge_mode, inner):
    layer = built("bidirectional", (4, 2), layer=inner, merge_mode=merge_mode)
    X = np.random.default_rng(1).standard_normal((2, 4, 2))
    check_gradients(layer, X)
    check_skips_input_grad(layer, X)


@pytest.mark.parametrize("merge_mode", ["concat", "mul"])
def test_masks_reach_both_layers_and_gradients_match(merge_mode):
    rng = np.random.default_rng(3)
    layer = built("bidirectional", (5, 3), layer=lstm(return_sequences=True), merge_mode=merge_mode)
    X = rng.standard_normal((3, 5, 3))
    G = rng.standard_normal((3,) + layer.output_shape)
    Y = layer.call(X, True, mask=MASK)
    assert not Y[~MASK].any()  # Keras's zero_output_for_mask: masked steps of the sequences are zeros
    dX = layer.call_backward(G)
    grads = {name: g.copy() for name, g in layer.grads.items()}

    def loss() -> float:
        return float(np.sum(G * layer.call(X, True, mask=MASK)))

    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)
    for name, param in layer.params.items():
        np.testing.assert_allclose(grads[name], numerical_gradient(loss, param), rtol=1e-6, atol=1e-8, err_msg=name)
    assert layer.compute_mask(X, MASK) is MASK


def test_dropout_trains_exactly_and_each_direction_draws_its_own_masks():
    rng = np.random.default_rng(2)
    layer = built("bidirectional", (5, 3), layer=lstm(dropout=0.5, recurrent_dropout=0.3, seed=4), merge_mode="sum")
    check_gradients_in_training(layer, rng.standard_normal((3, 5, 3)), rng)
    layer._noise = (123, 2, 0)  # as fit sets it
    layer.forward(np.ones((2, 5, 3)), training=True)
    masks = [sub._cache[-2] for sub in (layer.forward_layer, layer.backward_layer)]
    assert masks[0].shape == (4, 2, 3) and not np.array_equal(*masks)


@pytest.mark.parametrize("kwargs, message", [
    ({"layer": lstm(), "merge_mode": None}, "merge_mode must be one of .* got None \\(two outputs"),
    ({"layer": lstm(), "merge_mode": "max"}, "merge_mode must be one of"),
    ({"layer": {"class_name": "dense", "config": {"units": 2}}}, "layer must be a recurrent layer"),
    ({"layer": lstm(go_backwards=True)}, "different go_backwards"),
    ({"layer": lstm(), "backward_layer": lstm(go_backwards=True, return_sequences=True)}, "same return_sequences"),
    ({"layer": lstm(return_state=True)}, "return_state=True is not supported"),
])
def test_what_it_cannot_do_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get("layer", "bidirectional", **kwargs)


def test_config_round_trip_with_the_layers_inside():
    inner = get("layer", "gru", units=2, return_sequences=True, reset_after=False)
    backward = get("layer", "simple_rnn", units=2, return_sequences=True, go_backwards=True, activation="relu")
    layer = REGISTRY.resolve("layer", "bidirectional")(inner, "ave", backward_layer=backward, name="both")
    layer.build((4, 3), dtype="float64", rng=np.random.default_rng(0))
    config = json.loads(json.dumps(mk.registry.serialize(layer)))
    assert config["config"]["layer"] == {"class_name": "gru", "config": inner.get_config()}
    assert config["config"]["backward_layer"]["class_name"] == "simple_rnn" and config["config"]["weights"] is None
    again = get("layer", config).build((4, 3), dtype="float64")
    again.set_weights(layer.get_weights())
    X = np.random.default_rng(0).standard_normal((2, 4, 3))
    np.testing.assert_array_equal(again.forward(X), layer.forward(X))
    assert type(again.backward_layer).__name__ == "SimpleRNN" and again.name == "both"


@pytest.mark.parametrize("by", ["string", "class"])
def test_an_imdb_like_toy_learns_saves_and_reloads(by, tmp_path):
    from minikeras_core.layers import GRU, LSTM, Bidirectional, Dense, Embedding

    model = Sequential(seed=0)
    if by == "string":
        model.add("embedding", input_dim=50, output_dim=8, mask_zero=True, input_shape=(20,))
        # Sequential.add's own first parameter is named layer, as Bidirectional's is: built by name through get
        model.add(get("layer", "bidirectional", layer={"class_name": "lstm", "config": {"units": 8, "return_sequences": True}}))
        model.add(get("layer", "bidirectional", layer=get("layer", "gru", units=8), merge_mode="sum"))
        model.add("dense", units=1, activation="sigmoid")
    else:
        model.add(Embedding(50, 8, mask_zero=True, input_length=20))
        model.add(Bidirectional(LSTM(8, return_sequences=True)))
        model.add(Bidirectional(GRU(8), merge_mode="sum"))
        model.add(Dense(1, activation="sigmoid"))
    check_learns_toy_reviews_and_reloads(model, tmp_path, epochs=8)


def test_fit_with_dropout_in_parts_on_threads_equals_one_thread(use_parts, need_threads):
    def add_recurrent(model):
        model.add(get("layer", "bidirectional", layer=lstm(units=5, dropout=0.3, recurrent_dropout=0.3), input_shape=(6, 4)))

    check_dropout_trains_alike_in_parts(use_parts, add_recurrent)
