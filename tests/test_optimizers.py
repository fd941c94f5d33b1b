"""The optimizers against hand computations, on test functions, and in training.

The reference rules below are written from the formulas of Keras 3 (keras/src/optimizers) in plain
Python floats, one scalar at a time, independently of the plugins' vectorized in-place code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minikeras_core as mk

# -- scalar reference rules: (w, g, slot dict, step t from 1, hyperparameters) -> new w -----------


def ref_sgd(w: float, g: float, s: dict, t: int, learning_rate=0.01, momentum=0.0, nesterov=False) -> float:
    if momentum == 0:
        return w - learning_rate * g
    s["velocity"] = momentum * s.get("velocity", 0.0) - learning_rate * g
    if nesterov:
        return w + momentum * s["velocity"] - learning_rate * g
    return w + s["velocity"]


def ref_adam(w: float, g: float, s: dict, t: int, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7) -> float:
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g * g
    a = learning_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return w - a * s["m"] / (math.sqrt(s["v"]) + epsilon)


def ref_adagrad(w: float, g: float, s: dict, t: int, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7) -> float:
    s["accumulator"] = s.get("accumulator", initial_accumulator_value) + g * g
    return w - learning_rate * g / math.sqrt(s["accumulator"] + epsilon)


def ref_rmsprop(w: float, g: float, s: dict, t: int, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7) -> float:
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    inc = learning_rate * g / math.sqrt(s["v"] + epsilon)
    if momentum > 0:
        s["m"] = momentum * s.get("m", 0.0) + inc
        return w - s["m"]
    return w - inc


# (registered name, constructor kwargs, reference rule, the reference's kwargs)
CASES = [
    ("sgd", {}, ref_sgd, {}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}, ref_sgd, {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.5, "nesterov": True}, ref_sgd, {"learning_rate": 0.1, "momentum": 0.5, "nesterov": True}),
    ("nesterov", {}, ref_sgd, {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    ("adam", {}, ref_adam, {}),
    ("adam", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}, ref_adam, {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}),
    ("adagrad", {}, ref_adagrad, {}),
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 0.01}, ref_adagrad, {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 0.01}),
    ("rmsprop", {}, ref_rmsprop, {}),
    ("rmsprop", {"learning_rate": 0.1, "rho": 0.5, "momentum": 0.8, "epsilon": 0.01}, ref_rmsprop, {"learning_rate": 0.1, "rho": 0.5, "momentum": 0.8, "epsilon": 0.01}),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'defaults'}" for name, kwargs, _, _ in CASES]

# Small fixed weights of two shapes, and a gradient that depends on the weight and the step.
W0 = [np.array([[0.5, -1.25, 2.0], [0.0, 0.75, -0.3]]), np.array([1.5, -0.2, 0.9, -2.0])]
SLOPE = [np.array([[1.0, 2.0, 0.5], [3.0, 1.5, 0.25]]), np.array([0.5, 4.0, 1.0, 2.0])]
OFFSETS = [np.array([[0.1, -0.4, 0.0], [0.3, 0.2, -0.1]]), np.array([-0.3, 0.05, 0.6, 0.0])]


def gradient(k: int, index: int, w):
    """The gradient of weight ``index`` at step ``k`` (works on arrays and on Python floats entry by entry)."""
    return SLOPE[index] * w + OFFSETS[index] * (k + 1) - 0.2 * k


def reference_run(rule, ref_kwargs: dict, steps: int) -> tuple[list[np.ndarray], list[list[dict]]]:
    """Apply ``rule`` entry by entry in Python floats; return the weights and per-entry slots."""
    weights = [w.ravel().tolist() for w in W0]
    slots = [[{} for _ in w] for w in weights]
    for k in range(steps):
        t = k + 1
        for i, flat in enumerate(weights):
            slope, offset = SLOPE[i].ravel().tolist(), OFFSETS[i].ravel().tolist()
            for j, w in enumerate(flat):
                g = slope[j] * w + offset[j] * (k + 1) - 0.2 * k
                flat[j] = rule(w, g, slots[i][j], t, **ref_kwargs)
    return [np.array(flat).reshape(W0[i].shape) for i, flat in enumerate(weights)], slots


def run(optimizer, weights: list[np.ndarray], steps: int, start: int = 0) -> None:
    """Take ``steps`` steps on ``weights`` in place, the gradient depending on the weights."""
    for k in range(start, start + steps):
        grads = [gradient(k, i, w).astype(w.dtype) for i, w in enumerate(weights)]
        optimizer.apply(weights, grads)


# -- the rules, step by step ---------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs, rule, ref_kwargs", CASES, ids=CASE_IDS)
def test_three_steps_match_hand_computation(name, kwargs, rule, ref_kwargs):
    optimizer = mk.get("optimizer", name, **kwargs)
    weights = [w.copy() for w in W0]
    ids = [id(w) for w in weights]
    run(optimizer, weights, 3)
    expected, slots = reference_run(rule, ref_kwargs, 3)
    assert [id(w) for w in weights] == ids  # updated in place
    for got, want in zip(weights, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert optimizer.iterations == 3
    # The state holds the same moments as the hand computation, entry by entry.
    for i, state in enumerate(optimizer.get_state()["slots"]):
        if name == "adam":  # kept without their (1 - beta) factors: see AdamOptimizer
            state = {"m": state["m_sum"] * (1 - optimizer.beta_1), "v": state["v_sum"] * (1 - optimizer.beta_2)}
        assert set(state) == set(slots[i][0])
        for key, array in state.items():
            np.testing.assert_allclose(array.ravel(), [s[key] for s in slots[i]], rtol=0, atol=1e-6)


def test_hand_computation_moves_the_weights():
    # Guards the test above against comparing two runs that both did nothing.
    expected, _ = reference_run(ref_adam, {}, 3)
    assert np.min(np.abs(expected[0] - W0[0])) > 1e-4


def test_rmsprop_matches_keras_docstring_example():
    # keras.optimizers.RMSprop(learning_rate=0.1) on loss w**2 / 2 from w = 10 gives 9.683772.
    optimizer = mk.get("optimizer", "rmsprop", learning_rate=0.1)
    w = np.array([10.0], dtype=np.float32)
    optimizer.apply([w], [w.copy()])
    np.testing.assert_allclose(w, [9.683772], rtol=0, atol=1e-6)


def test_adam_first_step_is_learning_rate_with_keras_epsilon():
    # At t=1, m = (1-b1) g and sqrt(v) = sqrt(1-b2) |g|, so the step is lr * g / (|g| + eps / sqrt(1-b2)).
    # PyTorch adds eps after the bias correction instead: lr * g / (|g| + eps), which this tells apart.
    lr, eps, g = 0.1, 0.01, 0.5
    optimizer = mk.get("optimizer", "adam", learning_rate=lr, epsilon=eps)
    w = np.array([1.0])
    optimizer.apply([w], [np.array([g])])
    assert w[0] == pytest.approx(1.0 - lr * g / (g + eps / math.sqrt(1 - 0.999)), abs=1e-12)
    assert abs(w[0] - (1.0 - lr * g / (g + eps))) > 1e-3


def test_sgd_nesterov_differs_from_plain_momentum():
    weights = {}
    for nesterov in (False, True):
        optimizer = mk.get("optimizer", "sgd", learning_rate=0.1, momentum=0.9, nesterov=nesterov)
        weights[nesterov] = [w.copy() for w in W0]
        run(optimizer, weights[nesterov], 3)
    assert np.max(np.abs(weights[True][0] - weights[False][0])) > 1e-3


@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam", "adagrad", "rmsprop"])
def test_learning_rate_set_after_construction_is_used(name):
    # fit(learning_rate=...) sets the attribute: the following steps must use it.
    changed = mk.get("optimizer", name)
    changed.learning_rate = 0.05
    a, b, c = ([w.copy() for w in W0] for _ in range(3))
    run(changed, a, 2)
    run(mk.get("optimizer", name, learning_rate=0.05), b, 2)
    run(mk.get("optimizer", name), c, 2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0], c[0])
    assert changed.get_config()["learning_rate"] == 0.05


# -- dtype, state, edge cases --------------------------------------------------------------------

ALL = [(name, kwargs) for name, kwargs, _, _ in CASES]


@pytest.mark.parametrize("name, kwargs", ALL, ids=CASE_IDS)
def test_float32_stays_float32(name, kwargs):
    optimizer = mk.get("optimizer", name, **kwargs)
    weights = [w.astype(np.float32) for w in W0]
    run(optimizer, weights, 3)
    assert all(w.dtype == np.float32 for w in weights)
    for state in optimizer.get_state()["slots"]:
        assert all(array.dtype == np.float32 for array in state.values())
    # And float32 follows float64 closely (nothing was computed in a lower precision by mistake).
    reference = [w.copy() for w in W0]
    run(mk.get("optimizer", name, **kwargs), reference, 3)
    np.testing.assert_allclose(weights[0], reference[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, kwargs", ALL, ids=CASE_IDS)
def test_float64_gradients_do_not_upcast_float32_weights(name, kwargs):
    optimizer = mk.get("optimizer", name, **kwargs)
    weights = [w.astype(np.float32) for w in W0]
    for k in range(2):
        optimizer.apply(weights, [gradient(k, i, w.astype(np.float64)) for i, w in enumerate(weights)])
    assert all(w.dtype == np.float32 for w in weights)
    assert all(a.dtype == np.float32 for state in optimizer.get_state()["slots"] for a in state.values())


@pytest.mark.parametrize("name, kwargs", ALL, ids=CASE_IDS)
def test_state_restored_into_fresh_optimizer_continues_exactly(name, kwargs):
    original = mk.get("optimizer", name, **kwargs)
    weights = [w.copy() for w in W0]
    run(original, weights, 2)
    saved_state, saved_weights = original.get_state(), [w.copy() for w in weights]
    run(original, weights, 3, start=2)

    resumed = mk.get("optimizer", name, **kwargs)
    resumed.set_state(saved_state)
    assert resumed.iterations == 2
    restarted = [w.copy() for w in saved_weights]
    run(resumed, saved_weights, 3, start=2)
    for a, b in zip(weights, saved_weights):
        np.testing.assert_array_equal(a, b)
    if saved_state["slots"][0] or name == "adam":
        # Without the state (or, for Adam, the step count) a fresh optimizer would not continue the same way.
        run(mk.get("optimizer", name, **kwargs), restarted, 3, start=2)
        assert not np.allclose(restarted[0], weights[0])


def test_get_state_returns_copies():
    optimizer = mk.get("optimizer", "adam")
    weights = [w.copy() for w in W0]
    run(optimizer, weights, 1)
    state = optimizer.get_state()
    run(optimizer, weights, 1, start=1)
    assert state["iterations"] == 1
    assert not np.array_equal(state["slots"][0]["m_sum"], optimizer.get_state()["slots"][0]["m_sum"])


@pytest.mark.parametrize("name, kwargs", ALL, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_gradient_changes_nothing(name, kwargs, dtype):
    optimizer = mk.get("optimizer", name, **kwargs)
    weights = [w.astype(dtype) for w in W0]
    with np.errstate(all="raise"):  # a 0/0 anywhere fails the test
        for _ in range(3):
            optimizer.apply(weights, [np.zeros_like(w) for w in weights])
    for got, start in zip(weights, W0):
        np.testing.assert_array_equal(got, start.astype(dtype))


@pytest.mark.parametrize("name, kwargs", ALL, ids=CASE_IDS)
def test_parameters_of_different_shapes_keep_separate_state(name, kwargs):
    # Two weights stepped together end where each ends stepped alone.
    together = [w.copy() for w in W0]
    run(mk.get("optimizer", name, **kwargs), together, 3)
    for i in range(2):
        alone = W0[i].copy()
        optimizer = mk.get("optimizer", name, **kwargs)
        for k in range(3):
            optimizer.apply([alone], [gradient(k, i, alone)])
        np.testing.assert_array_equal(together[i], alone)


@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam", "adagrad", "rmsprop"])
def test_declares_elementwise(name):
    assert mk.get("optimizer", name).elementwise is True
    assert mk.Optimizer.elementwise is False


@pytest.mark.parametrize(
    "name, argument, value",
    [
        ("sgd", "learning_rate", -0.1),
        ("sgd", "learning_rate", 0.0),
        ("sgd", "momentum", -0.5),
        ("sgd", "momentum", 1.5),
        ("nesterov", "momentum", 2.0),
        ("adam", "learning_rate", -1e-3),
        ("adam", "beta_1", 1.0),
        ("adam", "beta_1", -0.1),
        ("adam", "beta_2", 1.0),
        ("adam", "epsilon", 0.0),
        ("adam", "epsilon", float("nan")),
        ("adagrad", "learning_rate", float("inf")),
        ("adagrad", "initial_accumulator_value", -0.1),
        ("adagrad", "epsilon", -1e-7),
        ("rmsprop", "learning_rate", -0.01),
        ("rmsprop", "rho", 1.0),
        ("rmsprop", "momentum", 1.0),
        ("rmsprop", "momentum", -0.2),
        ("rmsprop", "epsilon", 0.0),
    ],
)
def test_invalid_arguments_raise_naming_the_argument(name, argument, value):
    with pytest.raises(ValueError, match=argument):
        mk.get("optimizer", name, **{argument: value})


@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam", "adagrad", "rmsprop"])
def test_config_round_trips(name):
    optimizer = mk.get("optimizer", name)
    optimizer.learning_rate = 0.02
    rebuilt = type(optimizer).from_config(optimizer.get_config())
    assert rebuilt.get_config() == optimizer.get_config()
    assert rebuilt.learning_rate == 0.02




# -- convergence on test functions -----------------------------------------------------------------

QUAD_A = np.array([[3.0, 1.0], [1.0, 2.0]])  # symmetric positive definite
QUAD_MIN = np.array([1.0, -0.5])


def quadratic_grad(x: np.ndarray) -> np.ndarray:
    """Gradient of f(x) = (x - c)^T A (x - c) / 2, minimum at c."""
    return QUAD_A @ (x - QUAD_MIN)


def rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    """Gradient of f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum at (1, 1)."""
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])


def descend(optimizer, grad_fn, start, steps: int) -> np.ndarray:
    x = np.array(start, dtype=np.float64)
    g = np.empty_like(x)
    for _ in range(steps):
        g[...] = grad_fn(x)
        optimizer.apply([x], [g])
    return x


# name, kwargs, steps, tolerance (max-norm distance to the minimum). The default rates of Adam,
# AdaGrad and RMSprop (0.001) are too small for a few hundred steps; the quadratic starts ~1.5 away.
QUADRATIC = [
    ("sgd", {}, 1500, 1e-4),
    ("sgd", {"learning_rate": 0.1}, 150, 1e-4),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9}, 300, 1e-4),
    ("nesterov", {}, 300, 1e-4),
    ("adam", {"learning_rate": 0.05}, 300, 1e-3),
    ("adagrad", {"learning_rate": 0.5}, 300, 1e-4),
    ("rmsprop", {"learning_rate": 0.01}, 500, 2e-2),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5}, 400, 2e-2),
]
ROSENBROCK = [
    ("sgd", {"learning_rate": 1e-3}, 25000, 1e-2),
    ("sgd", {"learning_rate": 1e-3, "momentum": 0.9}, 3000, 1e-2),
    ("nesterov", {"learning_rate": 1e-3}, 3000, 1e-2),
    ("adam", {"learning_rate": 0.02}, 5000, 1e-2),
    ("adagrad", {"learning_rate": 0.5}, 12000, 1e-2),
    ("rmsprop", {"learning_rate": 1e-3}, 12000, 1e-2),
    ("rmsprop", {"learning_rate": 1e-3, "momentum": 0.9}, 2000, 1e-2),
]


@pytest.mark.parametrize("name, kwargs, steps, tolerance", QUADRATIC)
def test_convex_quadratic_reaches_minimum(name, kwargs, steps, tolerance):
    x = descend(mk.get("optimizer", name, **kwargs), quadratic_grad, [-1.5, 2.0], steps)
    assert np.max(np.abs(x - QUAD_MIN)) < tolerance, x


@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam", "adagrad", "rmsprop"])
def test_conformance_cases_reach_a_quadratic_minimum(name):
    # The declared cases exist because the default rates are too slow for a few hundred steps.
    cls = type(mk.get("optimizer", name))
    assert cls.conformance_cases()
    for kwargs in cls.conformance_cases():
        x = descend(cls(**kwargs), quadratic_grad, [-1.5, 2.0], 500)
        assert np.max(np.abs(x - QUAD_MIN)) < 2e-3, (kwargs, x)


@pytest.mark.parametrize("name, kwargs, steps, tolerance", ROSENBROCK)
def test_rosenbrock_reaches_minimum(name, kwargs, steps, tolerance):
    x = descend(mk.get("optimizer", name, **kwargs), rosenbrock_grad, [-1.2, 1.0], steps)
    assert np.max(np.abs(x - 1.0)) < tolerance, x


# -- training ------------------------------------------------------------------------------------


def _digits_split():
    X, y = mk.datasets.load_digits()
    X = (X / 16.0).reshape(len(X), 64).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    cut = int(0.8 * len(X))
    return X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]


def _first_epoch_reaching(optimizer: str, threshold: float, max_epochs: int, data) -> float:
    """The first epoch after which held-out accuracy is >= threshold (infinity if never within max_epochs)."""
    X_train, y_train, X_test, y_test = data
    model = mk.Sequential(seed=0)
    model.add("dense", units=64, activation="relu", input_size=(64,))
    model.add("dense", units=10, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer=optimizer)
    for epoch in range(1, max_epochs + 1):
        model.fit(X_train, y_train, n_epochs=1, batch_size=32, verbose=0, seed=epoch)
        accuracy = np.mean(model.predict(X_test).argmax(axis=1) == y_test)
        if accuracy >= threshold:
            return epoch
    return math.inf


def test_adam_reaches_95_percent_on_digits_in_fewer_epochs_than_sgd():
    data = _digits_split()
    adam_epochs = _first_epoch_reaching("adam", 0.95, 30, data)
    sgd_epochs = _first_epoch_reaching("sgd", 0.95, 30, data)  # default rate 0.01; measured: 47 epochs
    assert adam_epochs <= 30, "adam never reached 95% held-out accuracy in 30 epochs"
    assert adam_epochs < sgd_epochs, (adam_epochs, sgd_epochs)


def test_a_gradient_of_another_shape_is_refused_not_broadcast():
    from minikeras_core import get

    optimizer = get("optimizer", "sgd")
    param = np.zeros((2, 3))
    with pytest.raises(ValueError, match="shape"):
        optimizer.apply([param], [np.ones((3,))])
    assert not param.any() and optimizer.iterations == 0


def test_state_of_another_layout_is_refused_by_name():
    optimizer = mk.get("optimizer", "adam")
    weights = [w.copy() for w in W0]
    run(optimizer, weights, 1)
    state = optimizer.get_state()
    state["slots"] = [{"m": slot["m_sum"], "v": slot["v_sum"]} for slot in state["slots"]]  # Keras's names
    with pytest.raises(ValueError, match=r"AdamOptimizer.set_state: slot 0 holds \['m', 'v'\], expected \['m_sum', 'v_sum'\]"):
        mk.get("optimizer", "adam").set_state(state)
