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


def ref_adam(w: float, g: float, s: dict, t: int, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False) -> float:
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g * g
    v = s["v"]
    if amsgrad:
        v = s["v_max"] = max(s.get("v_max", 0.0), s["v"])
    a = learning_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return w - a * s["m"] / (math.sqrt(v) + epsilon)


def ref_adamw(w: float, g: float, s: dict, t: int, learning_rate=0.001, weight_decay=0.004, **adam) -> float:
    return ref_adam(w - w * weight_decay * learning_rate, g, s, t, learning_rate, **adam)


def ref_adagrad(w: float, g: float, s: dict, t: int, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7) -> float:
    s["accumulator"] = s.get("accumulator", initial_accumulator_value) + g * g
    return w - learning_rate * g / math.sqrt(s["accumulator"] + epsilon)


def ref_rmsprop(w: float, g: float, s: dict, t: int, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False) -> float:
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    denominator = s["v"] + epsilon
    if centered:
        s["mean"] = rho * s.get("mean", 0.0) + (1 - rho) * g
        denominator = s["v"] - s["mean"] ** 2 + epsilon
    inc = learning_rate * g / math.sqrt(denominator)
    if momentum > 0:
        s["m"] = momentum * s.get("m", 0.0) + inc
        return w - s["m"]
    return w - inc


def ref_adadelta(w: float, g: float, s: dict, t: int, learning_rate=0.001, rho=0.95, epsilon=1e-7) -> float:
    s["accumulated_grad"] = rho * s.get("accumulated_grad", 0.0) + (1 - rho) * g * g
    delta = -math.sqrt(s.get("accumulated_delta", 0.0) + epsilon) / math.sqrt(s["accumulated_grad"] + epsilon) * g
    s["accumulated_delta"] = rho * s.get("accumulated_delta", 0.0) + (1 - rho) * delta * delta
    return w + learning_rate * delta


def ref_adamax(w: float, g: float, s: dict, t: int, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7) -> float:
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["u"] = max(beta_2 * s.get("u", 0.0), abs(g))
    return w - learning_rate * s["m"] / ((1 - beta_1**t) * (s["u"] + epsilon))


def ref_nadam(w: float, g: float, s: dict, t: int, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7) -> float:
    def u(step):  # Dozat's momentum schedule
        return beta_1 * (1 - 0.5 * 0.96**step)

    product = math.prod(u(i) for i in range(1, t + 1))
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g * g
    m_hat = u(t + 1) * s["m"] / (1 - product * u(t + 1)) + (1 - u(t)) * g / (1 - product)
    v_hat = s["v"] / (1 - beta_2**t)
    return w - learning_rate * m_hat / (math.sqrt(v_hat) + epsilon)


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
    ("adam", {"learning_rate": 0.1, "beta_2": 0.5, "amsgrad": True}, ref_adam, {"learning_rate": 0.1, "beta_2": 0.5, "amsgrad": True}),
    ("rmsprop", {"learning_rate": 0.1, "rho": 0.8, "momentum": 0.5, "centered": True}, ref_rmsprop, {"learning_rate": 0.1, "rho": 0.8, "momentum": 0.5, "centered": True}),
    ("adadelta", {}, ref_adadelta, {}),
    ("adadelta", {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-3}, ref_adadelta, {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-3}),
    ("adamax", {}, ref_adamax, {}),
    ("adamax", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}, ref_adamax, {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}),
    ("nadam", {}, ref_nadam, {}),
    ("nadam", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}, ref_nadam, {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}),
    ("adamw", {}, ref_adamw, {}),
    ("adamw", {"learning_rate": 0.1, "weight_decay": 0.2, "amsgrad": True}, ref_adamw, {"learning_rate": 0.1, "weight_decay": 0.2, "amsgrad": True}),
]
NAMES = ["sgd", "nesterov", "adam", "adagrad", "rmsprop", "adadelta", "adamax", "nadam", "adamw"]
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
        if name in ("adam", "adamw"):  # kept without their (1 - beta) factors: see AdamOptimizer
            state = {key.replace("_sum", ""): array * (1 - (optimizer.beta_1 if key == "m_sum" else optimizer.beta_2))
                     for key, array in state.items()}
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


@pytest.mark.parametrize("name", NAMES)
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

# Keras's common arguments on top of the rules (their numbers are checked in test_optimizers_keras.py).
WITH_COMMON = [
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "clipnorm": 0.5}),
    ("adam", {"learning_rate": 0.1, "global_clipnorm": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {"learning_rate": 0.1, "clipvalue": 0.2}),
    ("nadam", {"learning_rate": 0.1, "gradient_accumulation_steps": 2, "clipnorm": 1.0}),
    ("adamw", {"learning_rate": 0.1, "gradient_accumulation_steps": 2, "amsgrad": True}),
]
ALL = [(name, kwargs) for name, kwargs, _, _ in CASES] + WITH_COMMON
ALL_IDS = CASE_IDS + [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}" for name, kwargs in WITH_COMMON]


@pytest.mark.parametrize("name, kwargs", ALL, ids=ALL_IDS)
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


@pytest.mark.parametrize("name, kwargs", ALL, ids=ALL_IDS)
def test_float64_gradients_do_not_upcast_float32_weights(name, kwargs):
    optimizer = mk.get("optimizer", name, **kwargs)
    weights = [w.astype(np.float32) for w in W0]
    for k in range(2):
        optimizer.apply(weights, [gradient(k, i, w.astype(np.float64)) for i, w in enumerate(weights)])
    assert all(w.dtype == np.float32 for w in weights)
    assert all(a.dtype == np.float32 for state in optimizer.get_state()["slots"] for a in state.values())


@pytest.mark.parametrize("name, kwargs", ALL, ids=ALL_IDS)
def test_state_restored_into_fresh_optimizer_continues_exactly(name, kwargs):
    original = mk.get("optimizer", name, **kwargs)
    weights = [w.copy() for w in W0]
    run(original, weights, 3)  # with gradient_accumulation_steps=2: one update, one gradient pending
    saved_state, saved_weights = original.get_state(), [w.copy() for w in weights]
    run(original, weights, 3, start=3)

    resumed = mk.get("optimizer", name, **kwargs)
    resumed.set_state(saved_state)
    assert resumed.iterations == (1 if "gradient_accumulation_steps" in kwargs else 3)
    restarted = [w.copy() for w in saved_weights]
    run(resumed, saved_weights, 3, start=3)
    for a, b in zip(weights, saved_weights):
        np.testing.assert_array_equal(a, b)
    if saved_state["slots"][0] or name == "adam":
        # Without the state (or, for Adam, the step count) a fresh optimizer would not continue the same way.
        run(mk.get("optimizer", name, **kwargs), restarted, 3, start=3)
        assert not np.allclose(restarted[0], weights[0])


def test_get_state_returns_copies():
    optimizer = mk.get("optimizer", "adam")
    weights = [w.copy() for w in W0]
    run(optimizer, weights, 1)
    state = optimizer.get_state()
    run(optimizer, weights, 1, start=1)
    assert state["iterations"] == 1
    assert not np.array_equal(state["slots"][0]["m_sum"], optimizer.get_state()["slots"][0]["m_sum"])


@pytest.mark.parametrize("name, kwargs", ALL, ids=ALL_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_gradient_changes_nothing(name, kwargs, dtype):
    optimizer = mk.get("optimizer", name, **kwargs)
    weights = [w.astype(dtype) for w in W0]
    with np.errstate(all="raise"):  # a 0/0 anywhere fails the test
        for _ in range(3):
            optimizer.apply(weights, [np.zeros_like(w) for w in weights])
    # Nothing but weight decay (AdamW's, on by default) moves them: w (1 - weight_decay * lr) a step.
    decay = (1 - (optimizer.weight_decay or 0.0) * optimizer.learning_rate) ** optimizer.iterations  # once an update
    for got, start in zip(weights, W0):
        np.testing.assert_allclose(got, start.astype(dtype) * decay, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)
        if decay == 1:
            np.testing.assert_array_equal(got, start.astype(dtype))


@pytest.mark.parametrize("name, kwargs", ALL, ids=ALL_IDS)
def test_parameters_of_different_shapes_keep_separate_state(name, kwargs):
    if "global_clipnorm" in kwargs:
        pytest.skip("global_clipnorm scales every gradient by the norm of all of them together")
    # Two weights stepped together end where each ends stepped alone.
    together = [w.copy() for w in W0]
    run(mk.get("optimizer", name, **kwargs), together, 3)
    for i in range(2):
        alone = W0[i].copy()
        optimizer = mk.get("optimizer", name, **kwargs)
        for k in range(3):
            optimizer.apply([alone], [gradient(k, i, alone)])
        np.testing.assert_array_equal(together[i], alone)


@pytest.mark.parametrize("name", NAMES)
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
        ("adadelta", "rho", 1.0),
        ("adadelta", "epsilon", 0.0),
        ("adadelta", "learning_rate", 0.0),
        ("adamax", "beta_1", 1.0),
        ("adamax", "beta_2", -0.5),
        ("adamax", "epsilon", -1.0),
        ("nadam", "beta_1", 1.5),
        ("nadam", "epsilon", 0.0),
        ("adamw", "weight_decay", -0.1),
        ("adamw", "weight_decay", None),
        ("adamw", "beta_2", 1.0),
        ("sgd", "weight_decay", float("nan")),
        ("adam", "clipnorm", -1.0),
        ("adam", "clipvalue", "big"),
        ("rmsprop", "global_clipnorm", float("inf")),
        ("adagrad", "gradient_accumulation_steps", 1),
        ("adagrad", "gradient_accumulation_steps", 2.5),
        ("nadam", "name", 3),
    ],
)
def test_invalid_arguments_raise_naming_the_argument(name, argument, value):
    with pytest.raises(ValueError, match=argument):
        mk.get("optimizer", name, **{argument: value})


@pytest.mark.parametrize("name", NAMES)
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
    ("rmsprop", {"learning_rate": 0.01, "centered": True}, 500, 2e-2),
    ("adadelta", {"learning_rate": 1.0, "epsilon": 1e-3}, 500, 1e-4),
    ("adamax", {"learning_rate": 0.05}, 300, 1e-3),
    ("nadam", {"learning_rate": 0.05}, 300, 1e-3),
    ("adamw", {"learning_rate": 0.05}, 300, 3e-3),  # the decay moves the minimum towards 0 a little
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


@pytest.mark.parametrize("name", NAMES)
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


# -- Keras's common arguments: clipping, weight decay, gradient accumulation -----------------------


def test_clipnorm_makes_an_optimizer_not_elementwise():
    assert mk.get("optimizer", "adam", clipnorm=1.0).elementwise is False
    for kwargs in ({}, {"clipnorm": 0.0}, {"clipvalue": 0.5}, {"global_clipnorm": 1.0}, {"weight_decay": 0.1},
                   {"gradient_accumulation_steps": 2}):
        assert mk.get("optimizer", "adam", **kwargs).elementwise is True, kwargs
    optimizer = mk.get("optimizer", "sgd")
    optimizer.clipnorm = 2.0
    assert optimizer.elementwise is False and type(optimizer).elementwise is True
    optimizer.clipnorm = None
    assert optimizer.elementwise is True


def test_clipnorm_scales_each_array_to_that_norm():
    grads = [np.array([[3.0, 4.0]]), np.array([0.3, 0.4])]  # norms 5 and 0.5
    weights = [np.zeros((1, 2)), np.zeros(2)]
    mk.get("optimizer", "sgd", learning_rate=1.0, clipnorm=1.0).apply(weights, grads)
    np.testing.assert_allclose(weights[0], [[-0.6, -0.8]], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(weights[1], [-0.3, -0.4])  # within the norm: unchanged
    np.testing.assert_array_equal(grads[0], [[3.0, 4.0]])  # the gradients given are left alone


def test_global_clipnorm_scales_all_arrays_by_their_joint_norm():
    grads = [np.array([[3.0, 4.0]]), np.array([0.3, 0.4])]
    weights = [np.zeros((1, 2)), np.zeros(2)]
    mk.get("optimizer", "sgd", learning_rate=1.0, global_clipnorm=1.0).apply(weights, grads)
    scale = 1.0 / math.sqrt(25.25)
    np.testing.assert_allclose(weights[0], [[-3.0 * scale, -4.0 * scale]], rtol=1e-15)
    np.testing.assert_allclose(weights[1], [-0.3 * scale, -0.4 * scale], rtol=1e-15)


def test_clipvalue_clips_each_entry():
    weights = [np.zeros(4)]
    grads = [np.array([-2.0, -0.1, 0.2, 3.0])]
    mk.get("optimizer", "sgd", learning_rate=1.0, clipvalue=0.5).apply(weights, grads)
    np.testing.assert_array_equal(weights[0], [0.5, 0.1, -0.2, -0.5])
    np.testing.assert_array_equal(grads[0], [-2.0, -0.1, 0.2, 3.0])


def test_weight_decay_is_decoupled_and_comes_before_the_update():
    # Keras 3: w = w - w * weight_decay * lr, then the rule on the (clipped) gradient.
    w, g = np.array([2.0, -1.0]), np.array([0.5, 0.25])
    weights = [w.copy()]
    mk.get("optimizer", "sgd", learning_rate=0.1, weight_decay=0.5, clipvalue=0.3).apply(weights, [g])
    np.testing.assert_allclose(weights[0], w * (1 - 0.05) - 0.1 * np.minimum(g, 0.3), rtol=0, atol=1e-15)


def test_only_one_clipping_argument():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        mk.get("optimizer", "adam", clipnorm=1.0, clipvalue=0.5)


def test_gradient_accumulation_steps_apply_the_mean_gradient_every_nth_call():
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=w.shape) for w in W0] for _ in range(6)]
    accumulating = mk.get("optimizer", "adam", learning_rate=0.1, gradient_accumulation_steps=3)
    plain = mk.get("optimizer", "adam", learning_rate=0.1)
    a, b = [w.copy() for w in W0], [w.copy() for w in W0]
    for k, g in enumerate(grads):
        accumulating.apply(a, g)
        if k % 3 < 2:
            assert accumulating.iterations == k // 3
            continue
        plain.apply(b, [sum(grads[j][i] for j in range(k - 2, k + 1)) / 3 for i in range(2)])
        assert accumulating.iterations == plain.iterations == (k + 1) // 3
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-15)
    assert not np.allclose(a[0], W0[0])


class PerArraySGD(type(mk.get("optimizer", "sgd"))):
    """The same rule, declared not element-wise, so the model keeps one update per weight array."""

    elementwise = False


def _digits_model(optimizer) -> mk.Sequential:
    model = mk.Sequential(seed=0, dtype="float64")
    model.add("dense", units=16, activation="relu", input_size=(64,))
    model.add("dense", units=10, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer=optimizer)
    return model


def _train(optimizer) -> list[np.ndarray]:
    X, y = mk.datasets.load_digits()
    model = _digits_model(optimizer)
    model.fit(X[:256].reshape(256, 64) / 16.0, y[:256], n_epochs=2, batch_size=32, shuffle=False, verbose=0)
    return model.get_weights()


@pytest.mark.parametrize("kwargs", [{"clipnorm": 0.05}, {"clipvalue": 0.002}, {"global_clipnorm": 0.05}, {"weight_decay": 0.5}],
                         ids=lambda kwargs: next(iter(kwargs)))
def test_training_with_clipping_equals_per_array_updates(kwargs):
    # clipnorm needs each array apart, so its optimizer is not element-wise and the model keeps the
    # arrays; clipvalue, global_clipnorm and weight decay work on the model's one flat buffer.
    optimizer = mk.get("optimizer", "sgd", learning_rate=0.1, momentum=0.9, **kwargs)
    assert optimizer.elementwise is ("clipnorm" not in kwargs)
    got = _train(optimizer)
    assert len(optimizer.get_state()["slots"]) == (4 if "clipnorm" in kwargs else 1)  # per array, or flat
    want = _train(PerArraySGD(0.1, 0.9, **kwargs))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    unclipped = _train(PerArraySGD(0.1, 0.9))
    assert not np.allclose(got[0], unclipped[0], rtol=0, atol=1e-4)  # the argument did something


def test_clipnorm_on_one_flat_buffer_would_clip_the_wrong_norm():
    # Why clipnorm turns elementwise off: forced onto the flat buffer, it clips the norm of all weights.
    forced = mk.get("optimizer", "sgd", learning_rate=0.1, momentum=0.9, clipnorm=0.05)
    forced.__dict__["elementwise"] = True
    got = _train(forced)
    assert len(forced.get_state()["slots"]) == 1
    want = _train(PerArraySGD(0.1, 0.9, clipnorm=0.05))
    assert not np.allclose(got[0], want[0], rtol=0, atol=1e-6)


class Halving(mk.Optimizer):
    """A third party's optimizer whose __init__ lists none of Keras's common arguments."""

    elementwise = True

    def __init__(self, learning_rate: float = 0.1, factor: float = 0.5) -> None:
        super().__init__(learning_rate)
        self.factor = factor

    def update(self, param, grad, state):
        param -= self.learning_rate * self.factor * grad


def test_a_third_party_optimizer_takes_keras_common_arguments():
    optimizer = Halving(0.2, factor=1.0, clipnorm=1.0, weight_decay=0.5)
    assert optimizer.elementwise is False and optimizer.clipnorm == 1.0
    config = optimizer.get_config()
    assert config == {"learning_rate": 0.2, "factor": 1.0, "clipnorm": 1.0, "weight_decay": 0.5}
    rebuilt = Halving.from_config(config)
    weights, again = [np.array([3.0, 4.0])], [np.array([3.0, 4.0])]
    optimizer.apply(weights, [np.array([6.0, 8.0])])
    rebuilt.apply(again, [np.array([6.0, 8.0])])
    np.testing.assert_allclose(weights[0], np.array([3.0, 4.0]) * 0.9 - 0.2 * np.array([0.6, 0.8]), rtol=1e-15)
    np.testing.assert_array_equal(weights[0], again[0])
    assert Halving().get_config() == {"learning_rate": 0.1, "factor": 0.5}
    assert Halving(global_clipnorm=2.0).elementwise is True
    with pytest.raises(ValueError, match="only one of"):
        Halving(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(TypeError):
        Halving(momentum=0.9)  # not a common argument: the class's own signature decides


@pytest.mark.parametrize("kwargs", [{"use_ema": True}, {"loss_scale_factor": 128.0}], ids=["use_ema", "loss_scale_factor"])
def test_unsupported_keras_arguments_are_refused_by_name(kwargs):
    with pytest.raises(NotImplementedError, match=next(iter(kwargs))):
        mk.get("optimizer", "adam", **kwargs)


def test_apply_gradients_takes_keras_gradient_weight_pairs():
    w = np.array([1.0, 2.0])
    mk.get("optimizer", "sgd", learning_rate=0.5).apply_gradients([(np.array([1.0, -1.0]), w)])
    np.testing.assert_array_equal(w, [0.5, 2.5])


def test_config_with_common_arguments_round_trips():
    optimizer = mk.get("optimizer", "adamw", learning_rate=0.01, clipnorm=1.0, gradient_accumulation_steps=2, name="opt")
    config = optimizer.get_config()
    assert config["clipnorm"] == 1.0 and config["gradient_accumulation_steps"] == 2 and config["weight_decay"] == 0.004
    assert optimizer.name == "opt"
    assert type(optimizer).from_config(config).get_config() == config


@pytest.mark.parametrize("keras_name, name", [("SGD", "sgd"), ("Adam", "adam"), ("RMSprop", "rmsprop"), ("Adagrad", "adagrad")])
def test_keras_names_and_original_readme_names_resolve(keras_name, name):
    from minikeras_core import optimizers

    cls = type(mk.get("optimizer", name))
    assert type(mk.get("optimizer", keras_name)) is cls is getattr(optimizers, keras_name)
    original = {"sgd": "GradientDescentOptimizer", "adam": "AdamOptimizer", "rmsprop": "RMSpropOptimizer",
                "adagrad": "AdaGradOptimizer"}[name]
    assert getattr(optimizers, original) is cls
    assert optimizers.NesterovGradientDescentOptimizer().nesterov is True


@pytest.mark.parametrize("name, kwargs", [("nadam", {"gradient_accumulation_steps": 3, "clipvalue": 0.5}),
                                          ("adamw", {"clipnorm": 1.0, "amsgrad": True}),
                                          ("adadelta", {"learning_rate": 1.0}), ("adamax", {"global_clipnorm": 1.0})],
                         ids=["nadam", "adamw", "adadelta", "adamax"])
def test_a_saved_model_continues_training_exactly(name, kwargs, tmp_path):
    X, y = mk.datasets.load_digits()
    X, y = X[:200].reshape(200, 64) / 16.0, y[:200]
    model = _digits_model(mk.get("optimizer", name, **kwargs))
    model.fit(X, y, n_epochs=1, batch_size=32, shuffle=False, verbose=0)  # 7 batches: a gradient pending at steps=3
    model.save(tmp_path / "model.mk")
    restored = mk.load_model(tmp_path / "model.mk")
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    assert restored.optimizer.get_state()["accumulated"] == model.optimizer.get_state()["accumulated"]
    for m in (model, restored):
        m.fit(X, y, n_epochs=1, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)
