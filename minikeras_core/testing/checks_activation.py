"""Checks of the Activation contract: purity, shapes, Jacobian, vector-Jacobian product, dtype, config, speed-ups.

Inputs are drawn away from 0 (``|x|`` in ``[0.2, 2]``) so that kinks such as ReLU's never fall
within a finite-difference step. Every call gets its own copy of ``X`` and ``G``, so an
activation writing into its input fails only ``activation_does_not_modify_input``.
"""

from __future__ import annotations

import numpy as np

from ..activation import ElementwiseActivation, derives_from_output
from ._base import Mismatch, NotApplicable, Subject, check, expect
from ._configs import check_config
from ._numerics import arrays_close, compare_gradients, finite_difference, max_difference, probe_indices


def _inputs(rng: np.random.Generator, shape: tuple, dtype=np.float64) -> np.ndarray:
    magnitude = rng.uniform(0.2, 2.0, shape)
    return (magnitude * rng.choice([-1.0, 1.0], shape)).astype(dtype)


@check("activation")
def activation_does_not_modify_input(s: Subject) -> None:
    """``eval``, ``grad_input`` and ``backward`` leave ``X`` (and ``G``) unchanged.

    It runs first: an activation writing into its input fails here, by name, and the other
    checks hand it copies so that it fails nothing else for it.
    """
    act = s.make()
    X = _inputs(s.rng, (3, 4))
    G = s.rng.normal(size=X.shape)
    X0, G0 = X.copy(), G.copy()
    for method, call in [("eval", lambda: act.eval(X)), ("grad_input", lambda: act.grad_input(X)),
                         ("backward", lambda: act.backward(X, G)), ("backward with Y", lambda: act.backward(X, G, Y=act.eval(X.copy())))]:
        call()
        expect(np.array_equal(X, X0), f"{method} to leave the caller's X unchanged (write into a new array, not into X)",
               lambda: f"X changed ({max_difference(X, X0)})")
        expect(np.array_equal(G, G0), f"{method} to leave grad_out unchanged", lambda: f"grad_out changed ({max_difference(G, G0)})")


@check("activation")
def activation_output_shape_matches_input(s: Subject) -> None:
    """``eval(X)`` has ``X``'s shape, for a batch of vectors and for a 3-D batch (feature axis last)."""
    act = s.make()
    for shape in [(3, 5), (1, 1), (2, 3, 4)]:
        Y = np.asarray(act.eval(_inputs(s.rng, shape)))
        expect(Y.shape == shape, f"eval output of shape {shape} for input of shape {shape}", f"shape {Y.shape}")


@check("activation")
def activation_grad_input_shape_is_batch_n_n(s: Subject) -> None:
    """``grad_input(X)`` for ``X`` of shape ``(batch, n)`` has shape ``(batch, n, n)``."""
    act = s.make()
    for shape in [(3, 5), (1, 2)]:
        J = np.asarray(act.grad_input(_inputs(s.rng, shape)))
        expected = shape + shape[-1:]
        expect(J.shape == expected, f"grad_input of shape {expected} for input {shape}", f"shape {J.shape}")


@check("activation")
def activation_grad_input_matches_finite_differences(s: Subject) -> None:
    """``J[b, i, j] = d f_i(X[b]) / d X[b, j]`` agrees with central differences in float64."""
    act = s.make()
    X = _inputs(s.rng, (3, 4))
    J = np.asarray(act.grad_input(X.copy()), dtype=np.float64)
    expect(J.shape == (3, 4, 4), "grad_input of shape (3, 4, 4)", f"shape {J.shape}")
    analytic, numeric = {}, {}
    for b, j in probe_indices(X.shape, s.rng):
        column = np.zeros(4)
        for sign in (1.0, -1.0):
            Xp = X.copy()
            Xp[b, j] += sign * 1e-6  # a new array per evaluation
            column += sign * np.asarray(act.eval(Xp), dtype=np.float64)[b]
        for i in range(4):
            analytic[(b, i, j)] = J[b, i, j]
            numeric[(b, i, j)] = column[i] / 2e-6
    compare_gradients("grad_input (the Jacobian per sample)", analytic, numeric)


@check("activation")
def activation_backward_matches_jacobian_vector_product(s: Subject) -> None:
    """``backward(X, G)`` equals ``einsum('bi,bij->bj', G, grad_input(X))``, with or without ``Y``, also for 3-D ``X``."""
    act = s.make()
    for shape in [(3, 4), (2, 3, 4)]:
        X = _inputs(s.rng, shape)
        G = s.rng.normal(size=shape)
        J = np.asarray(act.grad_input(X.reshape(-1, shape[-1]).copy()), dtype=np.float64)
        reference = np.einsum("bi,bij->bj", G.reshape(-1, shape[-1]), J).reshape(shape)
        got = np.asarray(act.backward(X.copy(), G.copy()))
        expect(arrays_close(got, reference, rtol=1e-8, atol=1e-10),
               f"backward(X, G) for X of shape {shape} to equal G times grad_input(X)",
               lambda got=got, reference=reference: max_difference(got, reference))
        got_y = np.asarray(act.backward(X.copy(), G.copy(), Y=act.eval(X.copy())))
        expect(arrays_close(got_y, reference, rtol=1e-8, atol=1e-10),
               f"backward(X, G, Y=eval(X)) for X of shape {shape} to equal G times grad_input(X)",
               lambda got_y=got_y, reference=reference: max_difference(got_y, reference))


@check("activation")
def activation_backward_matches_finite_differences(s: Subject) -> None:
    """``backward(X, G)`` is the gradient of ``sum(G * eval(X))``, by central differences in float64."""
    act = s.make()
    X = _inputs(s.rng, (3, 4))
    G = s.rng.normal(size=X.shape)
    grad = np.asarray(act.backward(X.copy(), G.copy()), dtype=np.float64)
    expect(grad.shape == X.shape, f"backward output of shape {X.shape}", f"shape {grad.shape}")
    numeric = {i: finite_difference(lambda: float(np.sum(G * act.eval(X.copy()))), X, i) for i in probe_indices(X.shape, s.rng)}
    compare_gradients("backward(X, G)", {i: grad[i] for i in numeric}, numeric)


@check("activation")
def activation_keeps_float32(s: Subject) -> None:
    """float32 in gives float32 out of ``eval``, ``grad_input`` and ``backward`` (and float64 stays float64)."""
    act = s.make()
    for dtype in (np.float32, np.float64):
        X = _inputs(s.rng, (3, 4), dtype)
        G = s.rng.normal(size=X.shape).astype(dtype)
        name = np.dtype(dtype).name
        for method, result in [("eval", act.eval(X.copy())), ("grad_input", act.grad_input(X.copy())),
                               ("backward", act.backward(X.copy(), G.copy()))]:
            result = np.asarray(result)
            expect(result.dtype == dtype, f"{method} of {name} input to be {name}", f"{result.dtype.name}")


@check("activation")
def activation_finite_on_extreme_inputs(s: Subject) -> None:
    """Inputs of +-1e3 (float32 and float64) give finite outputs, Jacobians and backward values."""
    act = s.make()
    base = np.array([[-1e3, 1e3, 0.5, -0.5], [1e3, 1e3, -1e3, 0.0], [-1e3, -1e3, -1e3, -1e3]])
    for dtype in (np.float32, np.float64):
        X = base.astype(dtype)
        G = np.ones_like(X)
        with np.errstate(all="ignore"):
            results = {"eval": act.eval(X.copy()), "grad_input": act.grad_input(X.copy()), "backward": act.backward(X.copy(), G.copy())}
        for method, value in results.items():
            value = np.asarray(value)
            expect(np.all(np.isfinite(value)), f"finite {method} on inputs of +-1e3 ({np.dtype(dtype).name})",
                   lambda v=value: f"{int(np.sum(~np.isfinite(v)))} non-finite entries")


@check("activation")
def activation_is_deterministic(s: Subject) -> None:
    """The same input gives the same output, twice on one instance and on a second instance."""
    first, second = s.make(), s.make()
    X = _inputs(s.rng, (3, 4))
    outputs = [np.asarray(first.eval(X.copy())).copy(), np.asarray(first.eval(X.copy())).copy(), np.asarray(second.eval(X.copy()))]
    for label, other in [("a second call", outputs[1]), ("a second instance", outputs[2])]:
        if not np.array_equal(outputs[0], other, equal_nan=True):
            raise Mismatch(f"the same output from {label} on the same input", max_difference(outputs[0], other))


def _activation_works(s: Subject) -> None:
    s.make().eval(_inputs(s.rng, (3, 4)))


@check("activation")
def activation_config_round_trips(s: Subject) -> None:
    """``from_config`` of a JSON round trip of ``get_config()`` gives the same config and the same ``eval`` and ``backward``.

    ``get_config()`` records every constructor argument, defaults included. Run on the case and
    again with every defaulted argument at another value that works (see :mod:`._configs`).
    """

    def same(first, second) -> None:
        X = _inputs(s.rng, (3, 4))
        G = s.rng.normal(size=X.shape)
        for method, a, b in [("eval", first.eval(X.copy()), second.eval(X.copy())),
                             ("backward", first.backward(X.copy(), G.copy()), second.backward(X.copy(), G.copy()))]:
            expect(arrays_close(a, b), f"the same {method} from the rebuilt activation", lambda a=a, b=b: max_difference(a, b))

    check_config(s, lambda subject: subject.make(), same, _activation_works)


@check("activation")
def activation_eval_inplace_matches_eval(s: Subject) -> None:
    """An element-wise activation's ``eval_inplace(Z)`` overwrites ``Z`` with ``eval(Z)``'s numbers and returns ``Z``.

    Layers apply the activation with it when ``call``'s output is their own, so a wrong override
    would give wrong numbers there only. Skipped for an activation that is not element-wise.
    """
    act = s.make()
    if not isinstance(act, ElementwiseActivation):
        raise NotApplicable("not element-wise")
    for dtype, rtol in [(np.float32, 1e-6), (np.float64, 1e-12)]:
        X = _inputs(s.rng, (2, 3, 4), dtype)
        expected = np.asarray(act.eval(X.copy()))
        Z = X.copy()
        got = act.eval_inplace(Z)
        name = np.dtype(dtype).name
        expect(got is Z, f"eval_inplace(Z) to return Z itself ({name})", f"a {type(got).__name__}")
        expect(arrays_close(Z, expected, rtol=rtol, atol=rtol), f"eval_inplace(Z) to leave eval(Z) in Z ({name})",
               lambda Z=Z, expected=expected: max_difference(Z, expected))


@check("activation")
def activation_derivative_from_output_alone(s: Subject) -> None:
    """An activation overriding ``derivative_from_output(Y)`` gives ``derivative(X, Y)``'s numbers from ``Y`` alone, and ``backward(None, G, Y)`` equals ``backward(X, G, Y)``.

    Layers then apply the activation in place while training and keep only ``Y``. Skipped for
    an activation that does not override it.
    """
    act = s.make()
    if not isinstance(act, ElementwiseActivation):
        raise NotApplicable("not element-wise")
    if not derives_from_output(act):
        raise NotApplicable("derivative_from_output not overridden")
    X = _inputs(s.rng, (3, 4))
    Y = np.asarray(act.eval(X.copy()))
    G = s.rng.normal(size=X.shape)
    for method, with_input, without in [
        ("derivative_from_output(Y)", lambda: act.derivative(X.copy(), Y.copy()), lambda: act.derivative_from_output(Y.copy())),
        ("backward(None, G, Y)", lambda: act.backward(X.copy(), G, Y=Y.copy()), lambda: act.backward(None, G, Y=Y.copy())),
    ]:
        expected = np.asarray(with_input())
        try:
            found = np.asarray(without())
        except Exception as err:  # noqa: BLE001 - any error means it does need X
            raise Mismatch(f"{method} to work from the output alone (derivative_from_output is overridden)",
                           f"{type(err).__name__}: {err}") from None
        expect(found.shape == expected.shape and arrays_close(found, expected),
               f"{method} to equal the same computed from X",
               lambda found=found, expected=expected: max_difference(found, expected))
