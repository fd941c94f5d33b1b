"""Our initializers against Keras 3's, through the facts tests/data/keras/make_initializer_reference.py stored.

Signatures, config keys, names and fans equal Keras's; each random initializer hands its sampler
exactly the parameters Keras's hands its random functions (the formulas agree to rounding, on
vectors, matrices and convolution kernels); Orthogonal turns the same normal matrix into the same
values; deterministic initializers give Keras's values exactly; and large draws have the mean and
standard deviation those parameters imply (computed here with scipy, independently of our code).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import minikeras_core as mk
from minikeras_core import initializers
from minikeras_core.initializers import compute_fans, get_initializer

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "initializer_reference.json").read_text())


def _class(name):
    return getattr(initializers, name)


def _named_parameters(parameters):
    return [p for p in parameters if p[0] not in ("args", "kwargs")]  # Zeros, Ones: object's (*args, **kwargs), none


@pytest.mark.parametrize("name", sorted(REFERENCE["signatures"]))
def test_signature_and_config_keys_are_keras(name):
    cls = _class(name)
    ours = _named_parameters([[p.name, None if p.default is inspect.Parameter.empty else p.default]
                              for p in list(inspect.signature(cls.__init__).parameters.values())[1:]])
    assert ours == _named_parameters(REFERENCE["signatures"][name])
    keras_keys = set(REFERENCE["config_keys"][name])
    if name == "Identity":  # Keras 3's Identity has no get_config, so its saved config loses gain; ours keeps it
        keras_keys.add("gain")
    assert set(cls().get_config()) == keras_keys
    if name in ("Zeros", "Ones"):
        with pytest.raises(TypeError, match="takes no arguments"):
            cls(1.0)


@pytest.mark.parametrize("key", sorted(REFERENCE["names"]))
def test_every_keras_name_resolves_to_the_class_of_that_name(key):
    expected = REFERENCE["names"][key]
    assert type(get_initializer(key)).__name__ == expected
    assert getattr(initializers, key).__name__ == expected  # keras.initializers.<name> reads the same
    assert type(mk.get("initializer", key)).__name__ == expected


@pytest.mark.parametrize("case", REFERENCE["fans"], ids=lambda c: str(c["shape"]))
def test_fans_are_keras(case):
    assert list(compute_fans(tuple(case["shape"]), case.get("input_axes"), case.get("output_axes"))) == case["fans"]


@pytest.mark.parametrize("case", REFERENCE["parameters"], ids=lambda c: f"{c['class']}{c['kwargs'] or ''}{c['shape']}")
def test_distribution_parameters_are_keras(case):
    init = _class(case["class"])(**case["kwargs"])
    ours = init.parameters(tuple(case["shape"]))
    keras = case["parameters"]
    assert ours["name"] == keras["name"]
    assert set(ours) == set(keras)
    for key in set(keras) - {"name"}:
        assert ours[key] == pytest.approx(keras[key], rel=1e-12, abs=1e-15), key


class _GivenNormal:
    """A generator whose standard normal draw is the matrix given (Keras's draw, replayed)."""

    def __init__(self, matrix):
        self.matrix = np.asarray(matrix)

    def standard_normal(self, size):
        assert tuple(size) == self.matrix.shape
        return self.matrix.copy()


@pytest.mark.parametrize("case", REFERENCE["orthogonal"], ids=lambda c: f"{c['shape']}-gain{c['gain']}")
def test_orthogonal_turns_the_same_normal_matrix_into_keras_values(case):
    init = initializers.Orthogonal(gain=case["gain"])
    values = init(tuple(case["shape"]), dtype="float64", rng=_GivenNormal(case["normal"]))
    np.testing.assert_allclose(values, np.array(case["expected"]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", REFERENCE["deterministic"], ids=lambda c: f"{c['class']}{c['kwargs'] or ''}{c['shape']}-{c['dtype']}")
def test_deterministic_values_equal_keras_exactly(case):
    values = _class(case["class"])(**case["kwargs"])(tuple(case["shape"]), dtype=case["dtype"])
    assert values.dtype == np.dtype(case["dtype"])
    np.testing.assert_array_equal(values, np.array(case["expected"], dtype=case["dtype"]))


def _moments(parameters):
    """Mean, standard deviation and bounds of Keras's distribution, from scipy."""
    if parameters["name"] == "uniform":
        low, high = parameters["minval"], parameters["maxval"]
        dist = stats.uniform(loc=low, scale=high - low)
        return dist.mean(), dist.std(), low, high
    mean, stddev = parameters["mean"], parameters["stddev"]
    if parameters["name"] == "normal":
        return mean, stddev, -np.inf, np.inf
    dist = stats.truncnorm(-2, 2, loc=mean, scale=stddev)
    return dist.mean(), dist.std(), mean - 2 * stddev, mean + 2 * stddev


CONV = [c for c in REFERENCE["parameters"] if c["shape"] in ([5, 5, 16, 32], [6, 4]) and "input_axes" not in c["kwargs"]]


@pytest.mark.parametrize("case", CONV, ids=lambda c: f"{c['class']}{c['kwargs'] or ''}{c['shape']}")
def test_large_draws_have_the_moments_of_keras_parameters(case):
    shape = tuple(case["shape"])
    init = _class(case["class"])(**case["kwargs"])
    rng = np.random.default_rng(2024)
    draws = np.concatenate([init(shape, dtype="float64", rng=rng).ravel() for _ in range(max(1, 200_000 // int(np.prod(shape))))])
    mean, std, low, high = _moments(case["parameters"])
    n = draws.size
    assert abs(draws.mean() - mean) < 5 * std / np.sqrt(n)
    assert abs(draws.std() - std) < 5 * std / np.sqrt(n)
    assert low <= draws.min() and draws.max() <= high


def test_the_truncation_constant_is_the_std_of_a_normal_cut_at_two():
    assert initializers.TRUNCATED_NORMAL_STDDEV == pytest.approx(stats.truncnorm(-2, 2).std(), rel=1e-15)
