"""The training fast paths keep the mathematics: flat parameter buffer, skipped input gradient, float32."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core._ownership import MIN_IN_PLACE_SIZE, in_place_at_any_size
from minikeras_core.engine import step
from minikeras_core.engine.flat import FlatBuffer, can_flatten

GradientDescentOptimizer = type(mk.get("optimizer", "sgd"))  # found by name, as the core finds it


class PerArraySGD(GradientDescentOptimizer):
    """The same rule, declared not element-wise, so the model keeps one update per weight array."""

    elementwise = False


def data(n=48, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features))
    return X, np.eye(classes)[rng.integers(0, classes, n)]


def model(optimizer, dtype="float64", seed=3):
    m = mk.Sequential(seed=seed, dtype=dtype)
    m.add("dense", units=5, activation="relu", input_size=(6,))
    m.add("dense", units=4, activation="tanh")
    m.add("dense", units=3, activation="softmax")
    m.compile("categorical_cross_entropy", optimizer=optimizer)
    return m


@pytest.mark.parametrize("nesterov", [False, True])
def test_flat_buffer_gives_the_weights_of_per_array_updates(nesterov):
    X, y = data()
    flat = model(GradientDescentOptimizer(0.05, momentum=0.9, nesterov=nesterov))
    per_array = model(PerArraySGD(0.05, momentum=0.9, nesterov=nesterov))
    for m in (flat, per_array):
        m.fit(X, y, n_epochs=5, batch_size=16, shuffle=False, verbose=0)
    assert can_flatten(flat.layers, flat.optimizer) and not can_flatten(per_array.layers, per_array.optimizer)
    assert _flat_vector(flat) is not None and _flat_vector(per_array) is None
    for a, b in zip(flat.get_weights(), per_array.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    # The flat optimizer state is one slot: the per-array velocities laid end to end.
    state = flat.optimizer.get_state()
    expected = np.concatenate([s["velocity"].ravel() for s in per_array.optimizer.get_state()["slots"]])
    assert len(state["slots"]) == 1 and state["shapes"] == [[flat.count_params()]]
    np.testing.assert_allclose(state["slots"][0]["velocity"], expected, rtol=0, atol=1e-6)


def test_per_array_state_and_weights_carry_over_into_the_flat_buffer():
    X, y = data()
    reference = model(PerArraySGD(0.05, momentum=0.9))
    reference.fit(X, y, n_epochs=2, batch_size=16, shuffle=False, verbose=0)
    resumed = model(GradientDescentOptimizer(0.05, momentum=0.9), seed=99)
    resumed.set_weights(reference.get_weights())
    resumed.optimizer.set_state(reference.optimizer.get_state())  # per-array slots, velocity built
    for m in (reference, resumed):
        m.fit(X, y, n_epochs=2, batch_size=16, shuffle=False, verbose=0)
    assert _flat_vector(resumed) is not None
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_set_weights_writes_through_to_the_flat_buffer():
    X, y = data()
    m = model(GradientDescentOptimizer(0.05))
    m.fit(X, y, n_epochs=1, batch_size=16, verbose=0)
    new = [np.full_like(w, i + 1.0) for i, w in enumerate(m.get_weights())]
    m.set_weights(new)
    vector = _flat_vector(m)  # set_weights copied into the views: the buffer survives, so it is built once
    np.testing.assert_array_equal(vector, np.concatenate([w.ravel() for w in new]))
    grads = m.layers[0].grads["kernel"].base
    for layer in m.layers:  # the layers' weights and gradients are views of the two buffers
        for name in layer.params:
            assert layer.params[name].base is vector and layer.grads[name].base is grads


def test_replacing_the_optimizer_by_a_non_elementwise_one_leaves_the_flat_buffer():
    X, y = data()
    m = model(GradientDescentOptimizer(0.05))
    m.fit(X, y, n_epochs=1, batch_size=16, verbose=0)
    before = m.get_weights()
    m.fit(X, y, n_epochs=1, batch_size=16, verbose=0, optimizer=PerArraySGD(0.05))
    assert len(m.optimizer.get_state()["slots"]) == 6  # one per weight array again
    assert any(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


@pytest.mark.parametrize(("loss", "activation", "targets"), [
    ("categorical_cross_entropy", "softmax", "one_hot"), ("binary_cross_entropy", "sigmoid", "binary")])
def test_model_weight_gradients_match_finite_differences(loss, activation, targets):
    # The first layer skips dL/dX inside the model; its weight gradients must stay exact.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((7, 6))
    units = 3 if targets == "one_hot" else 2
    y = np.eye(3)[rng.integers(0, 3, 7)] if targets == "one_hot" else rng.integers(0, 2, (7, 2)).astype(float)
    m = mk.Sequential(seed=0, dtype="float64")
    m.add("dense", units=5, activation="tanh", input_size=(6,))
    m.add("dense", units=units, activation=activation)
    m.compile(loss, optimizer=GradientDescentOptimizer(0.1))
    buffer = FlatBuffer(m.layers)
    step.backward(m.layers, m.loss, step.forward(m.layers, X, training=True), y)
    analytic = buffer.grads.copy()
    flat = buffer.params
    numeric = np.empty_like(flat)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + 1e-6
        up = m.loss(step.forward(m.layers, X), y)
        flat[i] = saved - 1e-6
        down = m.loss(step.forward(m.layers, X), y)
        flat[i] = saved
        numeric[i] = (up - down) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_first_layer_skips_its_input_gradient_only_inside_the_model():
    X, y = data()
    m = model(GradientDescentOptimizer(0.05))
    calls = []
    first = m.layers[0]
    original = first.call_backward

    def spy(grad, need_input_grad=True):
        result = original(grad, need_input_grad=need_input_grad)
        calls.append((need_input_grad, result))
        return result

    first.call_backward = spy
    m.train_on_batch(X[:8], y[:8])
    assert calls == [(False, None)]
    first.forward(X[:8], training=True)
    assert first.backward(np.ones((8, 5))).shape == (8, 6)


def test_float32_stays_float32_through_a_training_step():
    X, y = data()
    m = model(GradientDescentOptimizer(0.05, momentum=0.9, nesterov=True), dtype="float32")
    m.fit(X.astype(np.float32), y.astype(np.float32), n_epochs=1, batch_size=16, verbose=0)
    arrays = [*(p for layer in m.layers for p in layer.params.values()), *(g for layer in m.layers for g in layer.grads.values()),
              *(v for s in m.optimizer.get_state()["slots"] for v in s.values())]
    step.forward(m.layers, X[:16].astype(np.float32), training=True)  # what a training step keeps for backward (backward releases it)
    kept = [a for layer in m.layers for a in (layer._Z, layer._Y, layer._X) if a is not None]
    assert all(layer._Y is not None for layer in m.layers)
    arrays += kept
    assert all(a.dtype == np.float32 for a in arrays), {a.dtype for a in arrays}
    assert m.predict(X).dtype == np.float32


def test_relu_backward_passes_the_gradient_where_the_input_is_positive():
    relu = mk.get("activation", "relu")
    X = np.array([[-1.0, 0.0, 2.0, 3.0]], np.float32)
    g = np.array([[5.0, 6.0, 7.0, -8.0]], np.float32)
    out = relu.backward(X, g)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 7.0, -8.0]])
    assert out.dtype == np.float32


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_model_trains_its_own_weights(how):
    import copy
    import pickle

    X, y = data()
    m = model(GradientDescentOptimizer(0.05, momentum=0.9))
    m.fit(X, y, n_epochs=1, batch_size=16, shuffle=False, verbose=0)
    twin = copy.deepcopy(m) if how == "deepcopy" else pickle.loads(pickle.dumps(m))
    before = twin.get_weights()
    for each in (m, twin):
        each.fit(X, y, n_epochs=2, batch_size=16, shuffle=False, verbose=0)
    after = twin.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))  # the copy's layers did train
    for a, b in zip(after, m.get_weights()):  # and exactly as the original
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_takes_the_batches_a_plain_loop_over_train_on_batch_takes(shuffle):
    # fit slices in order (views) or gathers shuffled rows with np.take; a plain loop indexes by hand.
    X, y = data(n=50)
    fitted, by_hand = model("sgd"), model("sgd")
    fitted.fit(X, y, n_epochs=2, batch_size=16, shuffle=shuffle, seed=7, verbose=0)
    rng = np.random.default_rng(7)
    for _ in range(2):
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        for start in range(0, len(X), 16):
            index = order[start : start + 16]
            by_hand.train_on_batch(X[index], y[index])
    for a, b in zip(fitted.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(fitted.get_weights()[0], model("sgd").get_weights()[0])  # training moved the weights


@pytest.mark.parametrize("activation, in_place", [("relu", True), ("tanh", True), ("sigmoid", True), ("softmax", False)])
def test_output_only_activations_overwrite_z_while_training(activation, in_place):
    """Dense keeps only Y when the activation's derivative comes from Y, and its gradients stay right."""
    rng = np.random.default_rng(0)
    layer = mk.Sequential(dtype="float64", seed=0).add("dense", units=4, activation=activation, input_size=(3,))
    X, G = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    with in_place_at_any_size():  # 20 values: far below the size from which the core works in place by itself
        Y = layer.forward(X, training=True)
    assert (layer._Z is None) == in_place and layer._Y is Y
    dX = layer.backward(G)
    assert layer._Z is None and layer._Y is None  # released by backward
    eps = 1e-6
    for i in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[i] += eps
        Xm[i] -= eps
        numeric = (np.sum(G * layer.forward(Xp)) - np.sum(G * layer.forward(Xm))) / (2 * eps)
        assert abs(numeric - dX[i]) < 1e-6 * max(1.0, abs(numeric))
    with pytest.raises(RuntimeError, match="needs a forward"):
        layer.backward(G)  # the forward was used up


def test_a_layer_returning_a_view_of_its_input_keeps_its_input_intact():
    """Flatten returns a view of X: without activation_in_place its activation must not write into X."""
    layer = mk.Sequential(dtype="float64").add("flatten", activation="relu", input_size=(2, 3))
    X = np.random.default_rng(0).standard_normal((4, 2, 3))
    before = X.copy()
    for training in (False, True):
        layer.forward(X, training=training)
        np.testing.assert_array_equal(X, before)


def _flat_vector(m):
    """The one vector holding every weight after training with a flat buffer, or None when the weights are separate arrays."""
    bases = {id(p.base) for layer in m.layers for p in layer.params.values()}
    base = m.layers[0].params["kernel"].base
    return base if len(bases) == 1 and base is not None and base.ndim == 1 else None


@pytest.mark.parametrize("samples", [MIN_IN_PLACE_SIZE // 64 - 1, MIN_IN_PLACE_SIZE // 64])
def test_only_outputs_worth_it_are_overwritten_in_place(samples):
    """Below MIN_IN_PLACE_SIZE values the ownership test costs more than it saves: Z is kept and Y is new; from it on, Z
    becomes Y. Training gives the same numbers either way."""
    rng = np.random.default_rng(1)
    X, G = rng.standard_normal((samples, 8)), rng.standard_normal((samples, 64))
    results = []
    for any_size in (False, True):
        layer = mk.Sequential(dtype="float64", seed=0).add("dense", units=64, activation="relu", input_size=(8,))
        with in_place_at_any_size() if any_size else contextlib.nullcontext():
            Y = layer.forward(X, training=True)
        in_place = layer._Z is None
        assert in_place == (any_size or samples * 64 >= MIN_IN_PLACE_SIZE)
        results.append((Y.copy(), layer.backward(G), layer.grads["kernel"].copy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change", ["new weight array", "new gradient dict"])
@pytest.mark.parametrize("optimizer", [GradientDescentOptimizer, PerArraySGD])
def test_a_change_between_steps_is_followed_by_the_next_step(change, optimizer):
    """The step's set-up (flat buffer, replicas) is reused while it fits; each change below must make a new one."""
    X, y = data()
    m = model(optimizer(0.05))
    m.train_on_batch(X, y)
    first = m.layers[0]
    if change == "new weight array":
        first.params["kernel"] = first.params["kernel"] + 1.0
    else:
        first.grads = {name: np.zeros_like(g) for name, g in first.grads.items()}
    reference = model(optimizer(0.05))  # a fresh model with the same weights takes the same step
    reference.set_weights(m.get_weights())
    for each in (m, reference):
        each.train_on_batch(X, y)
    for a, b in zip(m.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_freezing_a_layer_after_the_first_step_asks_for_a_new_compile():
    X, y = data()
    m = model(GradientDescentOptimizer(0.05, momentum=0.9))
    m.train_on_batch(X, y)
    m.layers[1].trainable = False
    with pytest.raises(ValueError, match=r"trainable switched on layer\(s\) .*compile\(\) again"):
        m.train_on_batch(X, y)
    m.compile("categorical_cross_entropy", optimizer=GradientDescentOptimizer(0.05, momentum=0.9))
    frozen = m.layers[1].get_weights()
    m.train_on_batch(X, y)
    for a, b in zip(m.layers[1].get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
