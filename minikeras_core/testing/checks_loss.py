"""Checks of the Loss contract: a finite scalar, its gradient, a hand-computed value, target shapes, config, fused gradients.

Predictions are drawn in ``[0.05, 0.95]`` (inside every clip) with one-hot targets, which suits
regression and classification losses alike.
"""

from __future__ import annotations

import numpy as np

from ..registry import REGISTRY
from ._base import NotApplicable, Subject, check, compare_hand_computed_case, expect, expect_value_error, resolve_cases
from ._configs import check_config
from ._numerics import arrays_close, compare_gradients, finite_difference, max_difference, probe_indices


def _data(rng: np.random.Generator, batch: int = 3, classes: int = 4, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    y_pred = rng.uniform(0.05, 0.95, (batch, classes)).astype(dtype)
    y_true = np.eye(classes, dtype=dtype)[rng.integers(0, classes, batch)]
    return y_pred, y_true


def _is_scalar(value) -> bool:
    return isinstance(value, (float, np.floating)) or (isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "f")


@check("loss")
def loss_returns_a_scalar(s: Subject) -> None:
    """``loss(y_pred, y_true)`` is one finite float (the mean over samples), not an array."""
    loss = s.make()
    value = loss(*_data(s.rng))
    expect(_is_scalar(value), "a float scalar", f"{type(value).__name__} {np.shape(value)}")
    expect(np.isfinite(value), "a finite value", value)


@check("loss")
def loss_is_finite_at_zero_and_one(s: Subject) -> None:
    """At predictions of exactly 0 and 1 (right and wrong), the value and ``grad_input`` are finite, in float32 and float64."""
    for dtype in (np.float32, np.float64):
        y_pred = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=dtype)
        y_true = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]], dtype=dtype)
        loss = s.make()
        with np.errstate(all="ignore"):
            value = loss(y_pred, y_true)
            grad = np.asarray(loss.grad_input(y_pred, y_true))
        name = np.dtype(dtype).name
        expect(np.all(np.isfinite(value)), f"a finite loss at predictions of exactly 0 and 1 ({name})", value)
        expect(np.all(np.isfinite(grad)), f"a finite grad_input at predictions of exactly 0 and 1 ({name})",
               lambda g=grad: f"{int(np.sum(~np.isfinite(g)))} non-finite entries")


@check("loss")
def loss_grad_input_matches_finite_differences(s: Subject) -> None:
    """``grad_input(y_pred, y_true)`` is the gradient of the mean loss, by central differences in float64."""
    loss = s.make()
    y_pred, y_true = _data(s.rng)
    grad = np.asarray(loss.grad_input(y_pred.copy(), y_true.copy()), dtype=np.float64)
    expect(grad.shape == y_pred.shape, f"grad_input of y_pred's shape {y_pred.shape}", f"shape {grad.shape}")
    numeric = {i: finite_difference(lambda: float(loss(y_pred, y_true)), y_pred, i) for i in probe_indices(y_pred.shape, s.rng)}
    compare_gradients("grad_input (d mean loss / d y_pred)", {i: grad[i] for i in numeric}, numeric)


@check("loss")
def loss_grad_input_keeps_shape_and_dtype(s: Subject) -> None:
    """``grad_input`` has ``y_pred``'s shape and dtype: float32 stays float32."""
    loss = s.make()
    for dtype in (np.float32, np.float64):
        y_pred, y_true = _data(s.rng, dtype=dtype)
        grad = np.asarray(loss.grad_input(y_pred, y_true))
        expect(grad.shape == y_pred.shape and grad.dtype == dtype,
               f"grad_input of shape {y_pred.shape} and dtype {np.dtype(dtype).name}", f"{grad.shape} {grad.dtype}")


@check("loss")
def loss_matches_hand_computed_case(s: Subject) -> None:
    """The mean loss equals ``expected`` on the plugin's ``hand_computed_case()`` (relative tolerance 1e-6).

    The loss is built with the first conformance case (no arguments when none are declared).
    """
    compare_hand_computed_case(s, "mean loss")


@check("loss")
def loss_rejects_wrong_target_shape(s: Subject) -> None:
    """``y_true`` of another shape than ``y_pred`` (more classes, more samples, one broadcastable row, an extra axis) raises ``ValueError`` from the value and the gradient."""
    loss = s.make()
    y_pred, _ = _data(s.rng)
    for shape in [(3, 5), (4, 4), (1, 4), (3, 4, 2)]:
        y_true = np.zeros(shape)
        y_true[..., 0] = 1
        for method in ("__call__", "grad_input"):
            expect_value_error(lambda method=method, y_true=y_true: getattr(loss, method)(y_pred, y_true),
                               f"ValueError from {method} for y_true of shape {shape} with y_pred {y_pred.shape}")


@check("loss")
def loss_does_not_modify_inputs(s: Subject) -> None:
    """The value and ``grad_input`` leave ``y_pred`` and ``y_true`` unchanged."""
    loss = s.make()
    y_pred, y_true = _data(s.rng)
    p0, t0 = y_pred.copy(), y_true.copy()
    loss(y_pred, y_true)
    loss.grad_input(y_pred, y_true)
    expect(np.array_equal(y_pred, p0), "y_pred unchanged", lambda: f"y_pred changed ({max_difference(y_pred, p0)})")
    expect(np.array_equal(y_true, t0), "y_true unchanged", lambda: f"y_true changed ({max_difference(y_true, t0)})")


def _loss_works(s: Subject) -> None:
    loss = s.make()
    y_pred, y_true = _data(s.rng)
    loss(y_pred, y_true)
    loss.grad_input(y_pred, y_true)


@check("loss")
def loss_config_round_trips(s: Subject) -> None:
    """``from_config`` of a JSON round trip of ``get_config()`` gives the same config, value and ``grad_input``.

    ``get_config()`` records every constructor argument, defaults included. Run on the case and
    again with every defaulted argument at another value that works (see :mod:`._configs`).
    """

    def same(first, second) -> None:
        y_pred, y_true = _data(s.rng)
        for method in ("__call__", "grad_input"):
            a, b = getattr(first, method)(y_pred, y_true), getattr(second, method)(y_pred, y_true)
            expect(arrays_close(a, b), f"the same {method} from the rebuilt loss", lambda a=a, b=b: max_difference(a, b))

    check_config(s, lambda subject: subject.make(), same, _loss_works)


def _installed_activations() -> list:
    """One instance of every registered activation that loads and builds (with its first conformance case)."""
    found = []
    for info in sorted(REGISTRY.infos("activation"), key=lambda i: i.name):
        try:
            cls = REGISTRY.load(info)
            found.append((info.name, cls(**resolve_cases("activation", cls)[0])))
        except Exception:  # noqa: BLE001 - not loadable or not buildable: its own checks say so
            continue
    return found


@check("loss")
def loss_fused_grad_matches_chain_rule(s: Subject) -> None:
    """For every installed activation for which ``fused_grad`` returns an array, it equals ``activation.backward(Z, grad_input(activation(Z), y))`` in float64.

    ``Z`` is drawn in ``[-2, 2]`` so that no clip bites, with one-hot targets. The training step
    uses ``fused_grad`` for the last layer's activation instead of the chain rule. Skipped when
    ``fused_grad`` returns ``None`` for every installed activation.
    """
    loss = s.make()
    Z = s.rng.uniform(-2.0, 2.0, (3, 4))
    y_true = np.eye(4)[s.rng.integers(0, 4, 3)]
    fused_with = []
    for name, activation in _installed_activations():
        y_pred = np.asarray(activation(Z.copy()), dtype=np.float64)
        fused = loss.fused_grad(activation, y_pred.copy(), y_true.copy())
        if fused is None:
            continue
        fused_with.append(name)
        chain = np.asarray(activation.backward(Z.copy(), loss.grad_input(y_pred.copy(), y_true.copy())), dtype=np.float64)
        fused = np.asarray(fused)
        expect(arrays_close(fused, chain, rtol=1e-7, atol=1e-10),
               f"fused_grad(activation {name!r}, ...) to equal activation.backward(Z, grad_input(y_pred, y_true))",
               lambda fused=fused, chain=chain: max_difference(fused, chain))
    if not fused_with:
        raise NotApplicable("fused_grad returns None for every installed activation")
