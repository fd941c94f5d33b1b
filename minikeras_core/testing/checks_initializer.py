"""Checks of the Initializer contract: shape and dtype, new arrays, finite values, seed and generator, values, config.

Every check calls the plugin as a layer does, ``init(shape, dtype=..., rng=...)``, on each shape of
its ``conformance_shapes()``. A random initializer (``deterministic`` false) takes a ``seed``;
a deterministic one uses no generator at all. The value checks compare a deterministic one with its
``hand_computed_case()`` and a random one's large draws with its ``expected_statistics(shape)``.
"""

from __future__ import annotations

import math

import numpy as np

from ._base import Mismatch, NotApplicable, Subject, check, expect
from ._configs import check_config, signature_parameters
from ._numerics import max_difference


def _shapes(s: Subject) -> list[tuple]:
    return [tuple(shape) for shape in s.cls.conformance_shapes()]


def _call(init, shape, rng_seed: int | None = 0, dtype="float64") -> np.ndarray:
    rng = None if rng_seed is None else np.random.default_rng(rng_seed)
    return init(shape, dtype=dtype, rng=rng)


def _random(s: Subject, why: str = "deterministic (deterministic = True): uses no generator") -> None:
    if getattr(s.cls, "deterministic", False):
        raise NotApplicable(why)


def _unseeded(s: Subject) -> Subject:
    """The case with ``seed=None``, so the values come from the generator passed."""
    return s.with_kwargs({**s.kwargs, "seed": None}) if "seed" in signature_parameters(s.cls) else s


@check("initializer")
def initializer_returns_shape_and_dtype(s: Subject) -> None:
    """A numpy array of the shape asked (a tuple or a list), float32 by default and for ``"float32"``, float64 for ``"float64"``."""
    init = s.make()
    for shape in _shapes(s):
        for dtype, expected in [(None, "float32"), ("float32", "float32"), ("float64", "float64"), (np.float64, "float64")]:
            for given in (shape, list(shape)):
                out = init(given, dtype=dtype, rng=np.random.default_rng(0))
                expect(isinstance(out, np.ndarray), f"a numpy array for shape {given!r}", type(out).__name__)
                expect(out.shape == shape, f"shape {shape} for shape={given!r}", out.shape)
                expect(out.dtype == np.dtype(expected), f"dtype {expected} for dtype={dtype!r}", out.dtype)


@check("initializer")
def initializer_returns_a_new_array_each_call(s: Subject) -> None:
    """Each call returns a writeable array sharing memory with no other call's: two weights never alias."""
    init = s.make()
    for shape in _shapes(s):
        first, second, third = _call(init, shape), _call(init, shape), _call(init, shape)
        expect(first.flags.writeable, f"a writeable array (shape {shape})", "a read-only array")
        shared = [(i, j) for i, j in ((0, 1), (0, 2), (1, 2)) if np.may_share_memory((first, second, third)[i], (first, second, third)[j])]
        expect(not shared, f"three calls for shape {shape} to return separate arrays", f"calls {shared} share memory")
        before = second.copy()
        first[...] = 123.0
        expect(np.array_equal(second, before), "writing into one returned array to change no other", "another array changed")


@check("initializer")
def initializer_values_are_finite(s: Subject) -> None:
    """No NaN or infinity, in float32 and float64."""
    init = s.make()
    for shape in _shapes(s):
        for dtype in ("float32", "float64"):
            out = _call(init, shape, dtype=dtype)
            expect(np.all(np.isfinite(out)), f"finite values for shape {shape} in {dtype}",
                   lambda out=out: f"{int(np.sum(~np.isfinite(out)))} non-finite of {out.size}")


def _differ(a: np.ndarray, b: np.ndarray) -> bool:
    return a.size == 0 or not np.array_equal(a, b)


@check("initializer")
def initializer_seed_makes_it_reproducible(s: Subject) -> None:
    """With ``seed=`` an int, every call and every instance give the same values, whatever generator is passed;
    another seed gives other values. **Skipped** for a deterministic initializer."""
    _random(s)
    if "seed" not in signature_parameters(s.cls):
        raise Mismatch("a random initializer to take a seed argument (None by default), as Keras's do, or to declare "
                       "deterministic = True", f"{s.cls.__name__}({', '.join(signature_parameters(s.cls))})")
    for shape in _shapes(s):
        one = s.with_kwargs({**s.kwargs, "seed": 7}).make()
        first = _call(one, shape, rng_seed=1)
        again = _call(one, shape, rng_seed=2)
        other_instance = _call(s.with_kwargs({**s.kwargs, "seed": 7}).make(), shape, rng_seed=None)
        other_seed = _call(s.with_kwargs({**s.kwargs, "seed": 8}).make(), shape, rng_seed=1)
        expect(np.array_equal(first, again), f"the same values from seed=7 twice (shape {shape}), the generator passed ignored",
               lambda a=first, b=again: f"values differing by {max_difference(a, b)}")
        expect(np.array_equal(first, other_instance), f"the same values from another instance with seed=7 (shape {shape})",
               lambda a=first, b=other_instance: f"values differing by {max_difference(a, b)}")
        expect(_differ(first, other_seed), f"other values from seed=8 than from seed=7 (shape {shape})", "identical values")


@check("initializer")
def initializer_draws_from_the_given_rng(s: Subject) -> None:
    """Without a seed, values come from the ``rng`` passed: equally seeded generators give the same values, other
    generators other values, and no generator a fresh draw each call. **Skipped** for a deterministic initializer."""
    _random(s)
    init = _unseeded(s).make()
    for shape in _shapes(s):
        same = _call(init, shape, rng_seed=1), _call(init, shape, rng_seed=1)
        other = _call(init, shape, rng_seed=2)
        fresh = _call(init, shape, rng_seed=None), _call(init, shape, rng_seed=None)
        expect(np.array_equal(*same), f"the same values from two generators seeded alike (shape {shape})",
               lambda same=same: f"values differing by {max_difference(*same)}")
        expect(_differ(same[0], other), f"other values from a generator seeded otherwise (shape {shape})",
               "identical values: the generator passed is not used")
        expect(_differ(*fresh), f"other values on each call without a generator (shape {shape})", "identical values")


@check("initializer")
def initializer_deterministic_uses_no_generator(s: Subject) -> None:
    """A deterministic initializer gives the same values with any generator or none, and draws nothing from the one
    passed. **Skipped** for a random initializer."""
    if not getattr(s.cls, "deterministic", False):
        raise NotApplicable("random (deterministic = False)")
    init = s.make()
    for shape in _shapes(s):
        rng = np.random.default_rng(1)
        values = [init(shape, dtype="float64", rng=rng), _call(init, shape, rng_seed=2), _call(init, shape, rng_seed=None)]
        expect(all(np.array_equal(values[0], v) for v in values[1:]), f"the same values with any generator (shape {shape})",
               "values that depend on the generator")
        expect(rng.random() == np.random.default_rng(1).random(), "the generator passed left untouched", "numbers drawn from it")


@check("initializer")
def initializer_matches_hand_computed_case(s: Subject) -> None:
    """A deterministic initializer's values equal ``hand_computed_case()``'s ``(shape, expected)`` for its first case,
    in float64 and float32. **Skipped** for a random initializer (see the statistics check)."""
    if not getattr(s.cls, "deterministic", False):
        raise NotApplicable("random: values checked by initializer_matches_declared_statistics")
    if s.case_index != 0:
        return
    case = s.cls.hand_computed_case()
    if case is None:
        raise Mismatch("a classmethod hand_computed_case(cls) returning (shape, expected_values), worked out by hand for "
                       "the first conformance case", f"{s.cls.__name__} declares none")
    shape, expected = tuple(case[0]), np.asarray(case[1], dtype=np.float64)
    init = s.make()
    for dtype in ("float64", "float32"):
        out = _call(init, shape, dtype=dtype)
        expect(out.shape == expected.shape and np.array_equal(out, expected.astype(dtype)),
               f"the hand-computed values {expected.tolist()} ({dtype})", lambda out=out: f"{out.tolist()}")


def _tolerance(n: int, std: float) -> float:
    """Six standard errors of a sample mean (or, more loosely, of a sample standard deviation) of ``n`` draws."""
    return 6.0 * std / math.sqrt(n) + 1e-12


@check("initializer")
def initializer_matches_declared_statistics(s: Subject) -> None:
    """About 20,000 draws per shape (float64) have the mean and standard deviation of ``expected_statistics(shape)``
    within six standard errors, and stay within its ``min``/``max``. **Skipped** for a deterministic initializer."""
    _random(s, "deterministic: values checked by initializer_matches_hand_computed_case")
    init = _unseeded(s).make()
    for shape in _shapes(s):
        expected = init.expected_statistics(shape)
        if expected is None:
            raise Mismatch("a method expected_statistics(shape) returning {'mean', 'std'} (and 'min'/'max' when bounded), "
                           "from the initializer's formula", f"{s.cls.__name__} declares none")
        size = max(1, math.prod(shape))
        calls = max(1, min(400, -(-20000 // size)))
        draws = np.concatenate([init(shape, dtype="float64", rng=s.rng).ravel() for _ in range(calls)])
        mean, std = float(draws.mean()), float(draws.std())
        n, want_std = draws.size, float(expected["std"])
        expect(abs(mean - expected["mean"]) <= _tolerance(n, want_std),
               f"mean {expected['mean']:.6g} for shape {shape} (+- {_tolerance(n, want_std):.2g} over {n} draws)", f"{mean:.6g}")
        expect(abs(std - want_std) <= _tolerance(n, want_std),
               f"standard deviation {want_std:.6g} for shape {shape} (+- {_tolerance(n, want_std):.2g})", f"{std:.6g}")
        low, high = expected.get("min"), expected.get("max")
        slack = 1e-12 * max(1.0, abs(low or 0.0), abs(high or 0.0))
        if low is not None:
            expect(draws.min() >= low - slack, f"no value below {low:.6g} for shape {shape}", f"{draws.min():.6g}")
        if high is not None:
            expect(draws.max() <= high + slack, f"no value above {high:.6g} for shape {shape}", f"{draws.max():.6g}")


def _initializer_works(s: Subject) -> None:
    _call(s.make(), _shapes(s)[0])


@check("initializer")
def initializer_config_round_trips(s: Subject) -> None:
    """``from_config`` of a JSON round trip of ``get_config()`` gives the same config, and the same values from the
    same generator (or the same seed); on each case and with non-default arguments."""

    def same(first, second) -> None:
        for shape in _shapes(s):
            a, b = _call(first, shape, rng_seed=3), _call(second, shape, rng_seed=3)
            if not np.array_equal(a, b) and not np.array_equal(a, _call(first, shape, rng_seed=3)):
                # the values do not follow the generator (initializer_draws_from_the_given_rng says so): compare the declarations
                a, b = first.expected_statistics(shape), second.expected_statistics(shape)
                expect(a == b, f"the same expected_statistics from the rebuilt initializer (shape {shape})", f"{a} and {b}")
                continue
            expect(np.array_equal(a, b), f"the same values from the rebuilt initializer (shape {shape})",
                   lambda a=a, b=b: f"values differing by {max_difference(a, b)}")

    check_config(s, lambda subject: subject.make(), same, _initializer_works)
