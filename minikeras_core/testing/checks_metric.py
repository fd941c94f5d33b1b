"""Checks of the Metric contract: a finite scalar, the mean over samples, a hand-computed value, target forms, config.

Predictions are rows of probabilities with one-hot targets, which suits accuracies and
regression metrics alike.
"""

from __future__ import annotations

import numpy as np

from ._base import Subject, check, compare_hand_computed_case, expect, expect_value_error
from ._configs import check_config
from ._numerics import max_difference


def _data(rng: np.random.Generator, batch: int = 6, classes: int = 4, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    y_pred = rng.uniform(0.05, 0.95, (batch, classes)).astype(dtype)
    y_pred /= y_pred.sum(axis=-1, keepdims=True)
    y_true = np.eye(classes, dtype=dtype)[rng.integers(0, classes, batch)]
    return y_pred, y_true


@check("metric")
def metric_returns_a_finite_scalar(s: Subject) -> None:
    """``metric(y_pred, y_true)`` is one finite Python float, in float32 and float64."""
    for dtype in (np.float32, np.float64):
        value = s.make()(*_data(s.rng, dtype=dtype))
        expect(isinstance(value, float), "a Python float", f"{type(value).__name__} {np.shape(value)}")
        expect(np.isfinite(value), f"a finite value ({np.dtype(dtype).name})", value)


@check("metric")
def metric_is_the_mean_over_samples(s: Subject) -> None:
    """The value on a batch is the mean of the values on its samples one at a time (``fit`` averages batches by size)."""
    metric = s.make()
    y_pred, y_true = _data(s.rng)
    whole = metric(y_pred, y_true)
    singles = [metric(y_pred[i : i + 1], y_true[i : i + 1]) for i in range(len(y_pred))]
    expect(np.isclose(whole, np.mean(singles), rtol=1e-9, atol=1e-12), f"the mean of the per-sample values {np.mean(singles):.10g}",
           f"{whole:.10g}")


@check("metric")
def metric_matches_hand_computed_case(s: Subject) -> None:
    """The value equals ``expected`` on the plugin's ``hand_computed_case()`` (relative tolerance 1e-6)."""
    compare_hand_computed_case(s, "value")


@check("metric")
def metric_takes_class_ids_like_one_hot_rows(s: Subject) -> None:
    """Integer class ids of shape ``(batch,)`` give the same value as the one-hot rows they stand for."""
    metric = s.make()
    y_pred, y_true = _data(s.rng)
    ids = np.argmax(y_true, axis=-1)
    expect(np.isclose(metric(y_pred, ids), metric(y_pred, y_true), rtol=1e-12), f"the one-hot value {metric(y_pred, y_true)}",
           metric(y_pred, ids))


@check("metric")
def metric_rejects_wrong_target_shape(s: Subject) -> None:
    """``y_true`` of another shape (more classes, more samples, an extra axis) raises ``ValueError``."""
    metric = s.make()
    y_pred, _ = _data(s.rng)
    for shape in [(6, 5), (7, 4), (6, 4, 2)]:
        y_true = np.zeros(shape)
        y_true[..., 0] = 1
        expect_value_error(lambda y_true=y_true: metric(y_pred, y_true), f"ValueError for y_true of shape {shape} with y_pred {y_pred.shape}")


@check("metric")
def metric_does_not_modify_inputs(s: Subject) -> None:
    """The metric leaves ``y_pred`` and ``y_true`` unchanged."""
    y_pred, y_true = _data(s.rng)
    p0, t0 = y_pred.copy(), y_true.copy()
    s.make()(y_pred, y_true)
    expect(np.array_equal(y_pred, p0), "y_pred unchanged", lambda: f"y_pred changed ({max_difference(y_pred, p0)})")
    expect(np.array_equal(y_true, t0), "y_true unchanged", lambda: f"y_true changed ({max_difference(y_true, t0)})")


def _metric_works(s: Subject) -> None:
    s.make()(*_data(s.rng))


@check("metric")
def metric_config_round_trips(s: Subject) -> None:
    """``from_config`` of a JSON round trip of ``get_config()`` gives the same config and value.

    ``get_config()`` records every constructor argument, defaults included. Run on the case and
    again with every defaulted argument at another value that works (see :mod:`._configs`).
    """

    def same(first, second) -> None:
        y_pred, y_true = _data(s.rng)
        a, b = first(y_pred, y_true), second(y_pred, y_true)
        expect(np.array_equal(a, b), "the same value from the rebuilt metric", f"{a!r} and {b!r}")

    check_config(s, lambda subject: subject.make(), same, _metric_works)
