"""Checks of the Optimizer contract: in-place updates, convergence, zero gradients, state, config.

The convex problem is scaled to the optimizer's own learning rate ``lr`` so the same check suits
plain gradient descent at 0.1 and Adam at 0.001: ``f(w) = sum(a * (w - c)^2) / 2`` with
curvatures ``a * lr`` in ``[0.05, 0.5]`` (well-conditioned for gradient descent, momentum or
not) and a start ``10 * lr`` from the minimum in every coordinate (a few dozen steps for rules
whose step is about ``lr``, such as Adam, RMSprop and AdaGrad).
"""

from __future__ import annotations

import numpy as np

from ._base import Mismatch, NotApplicable, Subject, check, expect
from ._configs import check_config
from ._numerics import arrays_close, max_difference

#: Steps allowed to reach the minimum, and how close "reached" is, relative to the start distance.
CONVERGENCE_STEPS = 2000
CONVERGENCE_TOLERANCE = 1e-2


def _shapes() -> list[tuple]:
    return [(3,), (2, 2)]


def _learning_rate(opt) -> float:
    lr = getattr(opt, "learning_rate", 0.01)
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        lr = 0.01
    return lr if np.isfinite(lr) and lr > 0 else 0.01


@check("optimizer")
def optimizer_updates_params_in_place(s: Subject) -> None:
    """``apply`` changes the given arrays themselves (views into one flat buffer too), keeping shape and dtype, and leaves the gradients alone."""
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        opt = s.make()
        buffer = s.rng.normal(size=7).astype(dtype)
        params = [buffer[:3], buffer[3:].reshape(2, 2)]  # as a model with a shared flat buffer holds them
        grads = [s.rng.normal(size=p.shape).astype(dtype) for p in params]
        before, grads_before = buffer.copy(), [g.copy() for g in grads]
        originals = list(params)
        opt.apply(params, grads)
        expect(all(a is b for a, b in zip(params, originals)), "the same array objects in the params list after apply",
               "apply replaced entries of the list")
        for p, shape in zip(params, [(3,), (2, 2)]):
            expect(p.shape == shape and p.dtype == dtype, f"a weight of shape {shape} and dtype {name} after apply",
                   f"{p.shape} {p.dtype}")
        expect(not np.array_equal(buffer, before), f"apply with non-zero gradients to change the weights in place ({name})",
               "the weights' memory unchanged")
        expect(np.all(np.isfinite(buffer)), "finite weights after one step", buffer)
        for g, g0 in zip(grads, grads_before):
            expect(np.array_equal(g, g0), "apply to leave the gradients unchanged", lambda g=g, g0=g0: max_difference(g, g0))
        for slot in opt.state:
            for key, value in slot.items():
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    expect(value.dtype == dtype, f"state {key!r} kept in the weight's dtype {name}", value.dtype)


@check("optimizer")
def optimizer_minimizes_convex_quadratic(s: Subject) -> None:
    """Repeated steps on ``sum(a * (w - c)^2) / 2``, scaled to the learning rate, reach ``c`` within 2000 steps."""
    opt = s.make()
    lr = _learning_rate(opt)
    curvature = [s.rng.uniform(0.05, 0.5, shape) / lr for shape in _shapes()]
    centre = [s.rng.normal(size=shape) for shape in _shapes()]
    start = [c + 10 * lr * s.rng.choice([-1.0, 1.0], c.shape) for c in centre]
    params = [w.copy() for w in start]
    grads = [np.zeros_like(w) for w in start]
    distance = 10 * lr
    worst = distance
    for step in range(1, CONVERGENCE_STEPS + 1):
        for g, w, a, c in zip(grads, params, curvature, centre):
            g[...] = a * (w - c)
        opt.apply(params, grads)
        worst = max(float(np.max(np.abs(w - c))) for w, c in zip(params, centre))
        if not np.isfinite(worst):
            raise Mismatch("finite weights while minimising a convex quadratic", f"non-finite weights after {step} steps")
        if worst <= CONVERGENCE_TOLERANCE * distance:
            return
    raise Mismatch(
        f"every weight within {CONVERGENCE_TOLERANCE:g} x {distance:.3g} of the minimum after at most "
        f"{CONVERGENCE_STEPS} steps (learning rate {lr:g})",
        f"still {worst:.3g} away ({worst / distance:.3g} of the start distance)",
    )


@check("optimizer")
def optimizer_zero_gradient_changes_nothing(s: Subject) -> None:
    """Steps of a fresh optimizer with all-zero gradients leave the weights exactly as they were (no NaN)."""
    for dtype in (np.float32, np.float64):
        opt = s.make()
        params = [s.rng.normal(size=shape).astype(dtype) for shape in _shapes()]
        before = [p.copy() for p in params]
        zeros = [np.zeros_like(p) for p in params]
        with np.errstate(all="ignore"):
            for _ in range(3):
                opt.apply(params, zeros)
        for p, p0 in zip(params, before):
            expect(np.array_equal(p, p0), f"weights unchanged by zero gradients ({np.dtype(dtype).name})",
                   lambda p=p, p0=p0: f"{max_difference(p, p0)}" + (", NaN" if np.isnan(p).any() else ""))


@check("optimizer")
def optimizer_keeps_state_per_parameter(s: Subject) -> None:
    """One optimizer stepping two weights of different shapes moves each as a separate optimizer would."""
    joint = s.make()
    alone = [s.make() for _ in _shapes()]
    params = [s.rng.normal(size=shape) for shape in _shapes()]
    separate = [p.copy() for p in params]
    for _ in range(5):
        grads = [s.rng.normal(size=p.shape) for p in params]
        joint.apply(params, grads)
        for opt, p, g in zip(alone, separate, grads):
            opt.apply([p], [g])
    for index, (a, b) in enumerate(zip(params, separate)):
        expect(arrays_close(a, b, rtol=1e-9, atol=1e-12),
               f"weight {index} (shape {a.shape}) updated as by its own optimizer after 5 steps",
               lambda a=a, b=b: max_difference(a, b))


@check("optimizer")
def optimizer_elementwise_update_matches_per_weight(s: Subject) -> None:
    """An optimizer declaring ``elementwise = True`` moves two weights given as one flat array exactly as given apart, over 5 steps.

    The model then hands it every weight as one flat array, so an update that looks at a whole
    weight (its norm, its mean) would silently differ. Skipped when ``elementwise`` is false.
    """
    if not getattr(s.make(), "elementwise", False):
        raise NotApplicable("elementwise not declared")
    flat_opt, apart_opt = s.make(), s.make()
    apart = [s.rng.normal(size=shape) for shape in _shapes()]
    flat = np.concatenate([p.ravel() for p in apart])
    for _ in range(5):
        grads = [s.rng.normal(size=p.shape) for p in apart]
        apart_opt.apply(apart, grads)
        flat_opt.apply([flat], [np.concatenate([g.ravel() for g in grads])])
    joined = np.concatenate([p.ravel() for p in apart])
    expect(arrays_close(flat, joined, rtol=1e-9, atol=1e-12),
           "the weights stepped as one flat array (elementwise = True) to equal them stepped apart",
           lambda: max_difference(flat, joined))


def _optimizer_works(s: Subject) -> None:
    params = [s.rng.normal(size=shape) for shape in _shapes()]
    s.make().apply(params, [s.rng.normal(size=p.shape) for p in params])
    if not all(np.all(np.isfinite(p)) for p in params):
        raise ValueError("non-finite weights after one step")


@check("optimizer")
def optimizer_config_round_trips(s: Subject) -> None:
    """``from_config`` of a JSON round trip of ``get_config()`` gives the same config and the same steps.

    ``get_config()`` records every constructor argument, defaults included. Run on the case and
    again with every defaulted argument at another value that works (see :mod:`._configs`).
    """

    def same(first, second) -> None:
        p1 = [s.rng.normal(size=shape) for shape in _shapes()]
        p2 = [p.copy() for p in p1]
        for _ in range(3):
            grads = [s.rng.normal(size=p.shape) for p in p1]
            first.apply(p1, grads)
            second.apply(p2, [g.copy() for g in grads])
        for a, b in zip(p1, p2):
            expect(arrays_close(a, b), "the same weights from the rebuilt optimizer after 3 steps",
                   lambda a=a, b=b: max_difference(a, b))

    check_config(s, lambda subject: subject.make(), same, _optimizer_works)
