"""The initializer checks have teeth: each broken initializer is caught by exactly the check named for its bug.

Each broken class differs from a correct one (written here, independently of the built-ins) by
one bug; the test asserts the exact set of failing checks and that each message names the check,
the plugin and what was expected and found. The correct ones pass every check that applies and
skip the others with their reason.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from minikeras_core.initializers import Initializer, RandomInitializer, compute_fans
from minikeras_core.testing import FAILED, PASSED, SKIPPED, check_names, check_plugin, format_report

RANDOM_SKIPS = {
    "initializer_deterministic_uses_no_generator": "random (deterministic = False)",
    "initializer_matches_hand_computed_case": "random: values checked by initializer_matches_declared_statistics",
}
DETERMINISTIC_SKIPS = {
    "initializer_seed_makes_it_reproducible": "deterministic (deterministic = True): uses no generator",
    "initializer_draws_from_the_given_rng": "deterministic (deterministic = True): uses no generator",
    "initializer_matches_declared_statistics": "deterministic: values checked by initializer_matches_hand_computed_case",
}

# -- correct initializers ------------------------------------------------------------------------


class GoodHeUniform(RandomInitializer):
    """Uniform on +-sqrt(6 / fan_in)."""

    def __init__(self, scale: float = 2.0, seed=None):
        super().__init__(seed)
        self.scale = scale

    def limit(self, shape):
        return math.sqrt(3.0 * self.scale / max(1, compute_fans(shape)[0]))

    def sample(self, shape, rng):
        return rng.uniform(-self.limit(shape), self.limit(shape), size=shape)

    def expected_statistics(self, shape):
        limit = self.limit(shape)
        return {"mean": 0.0, "std": limit / math.sqrt(3.0), "min": -limit, "max": limit}


class GoodEye(Initializer):
    """``gain`` on the diagonal of a 2-D weight."""

    deterministic = True

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    @classmethod
    def conformance_shapes(cls):
        return [(3, 5), (4, 4)]

    @classmethod
    def hand_computed_case(cls):
        return (2, 2), [[1.0, 0.0], [0.0, 1.0]]

    def sample(self, shape, rng):
        return self.gain * np.eye(*shape)


class KerasStyle(GoodEye):
    """Written as for Keras, overriding ``__call__(shape, dtype=None, rng=None)``."""

    def __call__(self, shape, dtype=None, rng=None):
        return self.gain * np.eye(*shape, dtype=dtype or "float32")


GOOD = [(GoodHeUniform, RANDOM_SKIPS), (GoodEye, DETERMINISTIC_SKIPS), (KerasStyle, DETERMINISTIC_SKIPS)]

# -- broken ones: one bug each -------------------------------------------------------------------


class IgnoresDtype(GoodEye):
    def __call__(self, shape, dtype=None, rng=None):
        return self.gain * np.eye(*shape)  # always float64


class ReversesShape(GoodEye):
    def __call__(self, shape, dtype=None, rng=None):
        return self.gain * np.eye(*tuple(shape)[::-1], dtype=dtype or "float32")


class ReturnsItsCache(GoodEye):
    def __call__(self, shape, dtype=None, rng=None):
        cache = self.__dict__.setdefault("_cache", {})
        key = (tuple(shape), str(dtype))
        if key not in cache:
            cache[key] = self.gain * np.eye(*shape, dtype=dtype or "float32")
        return cache[key]


class OverflowsFloat32(GoodEye):
    @classmethod
    def hand_computed_case(cls):
        return (2, 2), [[1e300, 0.0], [0.0, 1e300]]

    def sample(self, shape, rng):
        return 1e300 * np.eye(*shape)


class TouchesTheGenerator(GoodEye):
    def sample(self, shape, rng):
        rng.random()  # drawn and thrown away: the model's next layers would get other weights
        return super().sample(shape, rng)


class WrongHandCase(GoodEye):
    def sample(self, shape, rng):
        return self.gain * np.eye(*shape)[::-1]  # the anti-diagonal


class NoHandCase(GoodEye):
    hand_computed_case = Initializer.hand_computed_case


class IgnoresSeed(GoodHeUniform):
    def generator(self, rng=None):
        return rng if rng is not None else np.random.default_rng()


class IgnoresRng(GoodHeUniform):
    def generator(self, rng=None):
        return np.random.default_rng(self.seed)


class HasNoSeed(GoodHeUniform):
    def __init__(self, scale: float = 2.0):
        super().__init__(scale)


class HalfOpenAtZero(GoodHeUniform):
    def sample(self, shape, rng):
        return rng.uniform(0.0, 2 * self.limit(shape), size=shape)  # the right width, the wrong place


class FanOutForFanIn(GoodHeUniform):
    def sample(self, shape, rng):
        limit = math.sqrt(3.0 * self.scale / compute_fans(shape)[1])
        return rng.uniform(-limit, limit, size=shape)


class NoStatistics(GoodHeUniform):
    expected_statistics = Initializer.expected_statistics


class ScaleLostOnRebuild(GoodHeUniform):
    @classmethod
    def from_config(cls, config):
        return cls(seed=config.get("seed"))


class DropsScaleFromConfig(GoodHeUniform):
    def get_config(self):
        config = super().get_config()
        config.pop("scale")
        return config


BROKEN = [
    (IgnoresDtype, {"initializer_returns_shape_and_dtype"}),
    (ReversesShape, {"initializer_returns_shape_and_dtype"}),
    (ReturnsItsCache, {"initializer_returns_a_new_array_each_call"}),
    (OverflowsFloat32, {"initializer_values_are_finite"}),
    (TouchesTheGenerator, {"initializer_deterministic_uses_no_generator"}),
    (WrongHandCase, {"initializer_matches_hand_computed_case"}),
    (NoHandCase, {"initializer_matches_hand_computed_case"}),
    (IgnoresSeed, {"initializer_seed_makes_it_reproducible"}),
    (IgnoresRng, {"initializer_draws_from_the_given_rng"}),
    (HasNoSeed, {"initializer_seed_makes_it_reproducible"}),
    (HalfOpenAtZero, {"initializer_matches_declared_statistics"}),
    (FanOutForFanIn, {"initializer_matches_declared_statistics"}),
    (NoStatistics, {"initializer_matches_declared_statistics"}),
    (ScaleLostOnRebuild, {"initializer_config_round_trips"}),
    (DropsScaleFromConfig, {"initializer_config_round_trips"}),
]


def _by_check(results):
    return {r.check: r for r in results}


@pytest.mark.parametrize("cls, skipped", GOOD, ids=[c.__name__ for c, _ in GOOD])
def test_correct_initializers_pass_every_check_that_applies(cls, skipped):
    results = check_plugin("initializer", cls)
    assert [r.check for r in results] == check_names("initializer")
    assert {r.check: r.reason for r in results if r.status == SKIPPED} == skipped, format_report(results)
    assert all(r.status == PASSED for r in results if r.check not in skipped), format_report(results)


@pytest.mark.parametrize("cls, caught_by", BROKEN, ids=[c.__name__ for c, _ in BROKEN])
def test_each_broken_initializer_is_caught_by_the_right_check(cls, caught_by):
    with np.errstate(over="ignore"):
        results = check_plugin("initializer", cls)
    failed = {r.check for r in results if r.status == FAILED}
    assert failed == caught_by, format_report(results)
    for check in caught_by:
        message = _by_check(results)[check].message
        assert message.startswith(check), message
        assert cls.__name__ in message and "expected" in message and "found" in message, message


def test_the_failures_say_what_to_declare():
    assert "deterministic = True" in _by_check(check_plugin("initializer", HasNoSeed))["initializer_seed_makes_it_reproducible"].message
    assert "hand_computed_case" in _by_check(check_plugin("initializer", NoHandCase))["initializer_matches_hand_computed_case"].message
    message = _by_check(check_plugin("initializer", NoStatistics))["initializer_matches_declared_statistics"].message
    assert "expected_statistics" in message
