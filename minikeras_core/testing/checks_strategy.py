"""Checks of the Strategy contract, run in one process: rank and size, collectives, shares, the gradient hook, training.

A conformance run is one process, so a strategy is checked as rank 0 of 1 (an MPI strategy
started without ``mpiexec`` is exactly that): every collective must then be the identity, and
training through the strategy must equal training without one. How a strategy's shares split a
batch over several ranks is checked by giving a subclass of the plugin other ``rank`` and
``size`` values; the sums across real processes are the subject of the plugin's own multi-process
tests (for ``mpi``: ``tests/test_mpi.py``). A strategy built as rank ``r > 0`` or with ``size > 1``
(a check run under ``mpiexec``) skips the one-process checks.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..hooks import does_work, plugin_manager
from ._base import NotApplicable, Subject, check, expect
from ._configs import check_config
from ._numerics import max_difference

#: How close training through the strategy must come to training without one (float64).
TRAINING_TOLERANCE = 1e-12


def _alone(s: Subject):
    """The strategy, built; a check needing one process is not applicable to a multi-process run."""
    strategy = s.make()
    if strategy.size != 1:
        raise NotApplicable("runs on more than one process (checks are one-process)")
    return strategy


def _arrays(s: Subject) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]:
    """Arrays as the engine hands them over (float32 and float64, a view into a flat buffer, empty, integer), and that buffer."""
    flat = s.rng.normal(size=20)
    cases = [("float64 (4, 3)", s.rng.normal(size=(4, 3))),
             ("float32 (7,)", s.rng.normal(size=7).astype(np.float32)),
             ("a view (2, 3) into a flat buffer", flat[4:10].reshape(2, 3)),
             ("empty (0, 3)", np.zeros((0, 3))),
             ("int64 (5,)", np.arange(5, dtype=np.int64) - 2)]
    return cases, flat


def _same_array(found: np.ndarray, expected: np.ndarray) -> bool:
    return isinstance(found, np.ndarray) and found.shape == expected.shape and found.dtype == expected.dtype and np.array_equal(found, expected)


@check("strategy")
def strategy_rank_and_size_describe_the_process(s: Subject) -> None:
    """``size`` is an int >= 1, ``rank`` an int in ``0 .. size - 1``, ``is_chief`` is ``rank == 0``; both stay the same
    when asked again and in a second instance."""
    strategy = s.make()
    rank, size = strategy.rank, strategy.size
    for name, value in (("rank", rank), ("size", size)):
        expect(isinstance(value, numbers.Integral) and not isinstance(value, bool), f"{name} to be an int", repr(value))
    expect(size >= 1 and 0 <= rank < size, "size >= 1 and 0 <= rank < size", f"rank {rank}, size {size}")
    expect(strategy.is_chief == (rank == 0), "is_chief to be rank == 0", f"is_chief {strategy.is_chief} at rank {rank}")
    again = s.make()
    expect((strategy.rank, strategy.size, again.rank, again.size) == (rank, size, rank, size),
           f"rank {rank} and size {size} again, and in a second instance",
           f"{strategy.rank}/{strategy.size}, second instance {again.rank}/{again.size}")


@check("strategy")
def strategy_all_reduce_is_the_identity_in_place_on_one_process(s: Subject) -> None:
    """``all_reduce(array)`` over one process leaves every array as it was (float32, float64, int, empty, a view into a
    flat buffer, whose neighbours stay untouched) and returns ``None``: the sum is written in place."""
    strategy = _alone(s)
    cases, flat = _arrays(s)
    flat_before = flat.copy()
    for label, array in cases:
        before = array.copy()
        out = strategy.all_reduce(array)
        expect(out is None, f"all_reduce to return None (the sum is written into the array), for {label}", type(out).__name__)
        expect(_same_array(array, before), f"all_reduce over one process to leave {label} unchanged",
               lambda a=array, b=before: f"{a.dtype} {a.shape}: {max_difference(a, b)}")
    expect(np.array_equal(flat, flat_before), "the flat buffer around the reduced view unchanged",
           lambda: f"entries {np.flatnonzero(flat != flat_before).tolist()} changed")


@check("strategy")
def strategy_broadcast_is_the_identity_in_place_on_one_process(s: Subject) -> None:
    """``broadcast(array)`` and ``broadcast(array, root=0)`` over one process leave every array as it was and return ``None``."""
    strategy = _alone(s)
    for label, array in _arrays(s)[0]:
        before = array.copy()
        for call in (lambda a: strategy.broadcast(a), lambda a: strategy.broadcast(a, root=0)):
            out = call(array)
            expect(out is None, f"broadcast to return None (rank 0's values are written into the array), for {label}", type(out).__name__)
            expect(_same_array(array, before), f"broadcast over one process to leave {label} unchanged",
                   lambda a=array, b=before: f"{a.dtype} {a.shape}: {max_difference(a, b)}")


@check("strategy")
def strategy_all_gather_returns_the_rows_on_one_process(s: Subject) -> None:
    """``all_gather(array)`` over one process returns an array equal to ``array`` (shape, dtype and values; no rows
    included), and leaves ``array`` unchanged."""
    strategy = _alone(s)
    for label, array in _arrays(s)[0]:
        before = array.copy()
        out = strategy.all_gather(array)
        expect(_same_array(out, before), f"all_gather over one process to return {label} as it is",
               lambda o=out: f"{type(o).__name__} {getattr(o, 'dtype', '')} {getattr(o, 'shape', '')}")
        expect(np.array_equal(array, before), f"all_gather to leave {label} unchanged", "it changed")


def _objects() -> list:
    rng = np.random.default_rng(3)
    return [3, "text", None, [1, 2.5, "x"], {"loss": 0.25, "keys": ["a", "b"], "nested": {"n": 1}},
            rng.bit_generator.state,  # big ints, as fit sends the shuffling generator's state
            {"iterations": 4, "slots": [{"m": np.arange(3.0)}]}]  # numpy arrays, as in an optimizer's state


def _equal(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b) and a.dtype == b.dtype
    if isinstance(a, dict):
        return isinstance(b, dict) and sorted(a) == sorted(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@check("strategy")
def strategy_objects_travel_unchanged_on_one_process(s: Subject) -> None:
    """``broadcast_object(v)`` gives back ``v`` and ``all_gather_object(v)`` gives ``[v]``, for JSON-like values, a
    generator's state (big ints) and an optimizer's state (numpy arrays); ``check_same`` passes for one process."""
    strategy = _alone(s)
    for value in _objects():
        out = strategy.broadcast_object(value)
        expect(_equal(out, value), f"broadcast_object({value!r}) to give the value back", repr(out))
        expect(_equal(strategy.broadcast_object(value, root=0), value), f"broadcast_object({value!r}, root=0) to give it back",
               "another value")
        gathered = strategy.all_gather_object(value)
        expect(isinstance(gathered, list) and len(gathered) == 1 and _equal(gathered[0], value),
               f"all_gather_object({value!r}) to give [value]", repr(gathered))
        strategy.check_same("a value", value)  # one process agrees with itself: must not raise


def _ranked(s: Subject, rank: int, size: int):
    """The plugin built as rank ``rank`` of ``size`` (a subclass answering with those), to see how it shares a batch."""
    cls = type(f"{s.cls.__name__}AsRank", (s.cls,), {"rank": property(lambda self: rank), "size": property(lambda self: size)})
    return cls(**dict(s.kwargs))


@check("strategy")
def strategy_share_covers_every_row_once(s: Subject) -> None:
    """For every size 1..5, the ranks' ``share(start, stop)`` are consecutive ranges in rank order covering
    ``[start, stop)`` exactly once, as equal as can be (sizes differ by at most one); over one
    process the share is the whole range. The shares are asked of the plugin as rank ``r`` of ``size``."""
    ranges = [(0, 0), (0, 1), (0, 7), (3, 20), (5, 5), (10, 13), (0, 256)]
    strategy = s.make()
    if strategy.size == 1:
        for start, stop in ranges:
            expect(tuple(strategy.share(start, stop)) == (start, stop), f"share({start}, {stop}) over one process to be the whole range",
                   strategy.share(start, stop))
    for size in range(1, 6):
        strategies = [_ranked(s, rank, size) for rank in range(size)]
        for start, stop in ranges:
            shares = [tuple(int(v) for v in st.share(start, stop)) for st in strategies]
            expect(all(a <= b for a, b in shares) and shares[0][0] == start and shares[-1][1] == stop
                   and all(shares[i][1] == shares[i + 1][0] for i in range(size - 1)),
                   f"consecutive shares covering [{start}, {stop}) once, in rank order, over {size} ranks", shares)
            lengths = [b - a for a, b in shares]
            expect(max(lengths) - min(lengths) <= 1, f"shares of [{start}, {stop}) over {size} ranks as equal as can be", lengths)


@check("strategy")
def strategy_sums_gradients_through_the_hook(s: Subject) -> None:
    """The strategy implements the ``on_gradients_ready`` hook (a pluggy hook implementation, so ``fit`` calls it), and
    it hands every gradient array to ``all_reduce`` (the array itself, a view of it, or a buffer it lies in), leaving
    them unchanged over one process."""
    _alone(s)
    reduced: list = []

    def counting_all_reduce(self, array):
        reduced.append(array)
        return s.cls.all_reduce(self, array)

    strategy = type(f"{s.cls.__name__}Counted", (s.cls,), {"all_reduce": counting_all_reduce})(**dict(s.kwargs))
    hook = plugin_manager([strategy], installed=False).hook.on_gradients_ready
    expect(does_work(hook), "an on_gradients_ready hook implementation (an override needs @hookimpl, or pluggy never calls it)",
           "none registered by pluggy")
    flat = s.rng.normal(size=9)
    for label, grads in (("one flat buffer", [flat]),
                         ("separate arrays", [flat[:6].reshape(2, 3), flat[6:], s.rng.normal(size=3).astype(np.float32)])):
        reduced.clear()
        before = [g.copy() for g in grads]
        hook(model=None, grads=grads)
        missed = [i for i, g in enumerate(grads) if not any(isinstance(r, np.ndarray) and np.shares_memory(g, r) for r in reduced)]
        expect(not missed, f"every gradient array ({label}) to reach all_reduce", f"arrays {missed} of {len(grads)} never did")
        expect(all(np.array_equal(g, b) for g, b in zip(grads, before)), f"the gradients ({label}) unchanged over one process",
               "they changed")


def _model(dtype: str = "float64"):
    from ..model import Sequential  # the model imports the engine; the checks are imported before any model exists

    model = Sequential(seed=5, dtype=dtype)
    model.add("dense", units=6, activation="tanh", input_size=(4,))
    model.add("dense", units=3, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer="adam", metrics=["accuracy"])
    return model


class _Batches:
    """A PyDataset: ``len`` batches of ``(X, y)``."""

    def __init__(self, X: np.ndarray, y: np.ndarray, batch: int) -> None:
        self.X, self.y, self.batch = X, y, batch

    def __len__(self) -> int:
        return -(-len(self.X) // self.batch)

    def __getitem__(self, index: int) -> tuple:
        return self.X[index * self.batch : (index + 1) * self.batch], self.y[index * self.batch : (index + 1) * self.batch]


@check("strategy")
def strategy_trains_as_no_strategy_on_one_process(s: Subject) -> None:
    """A small float64 model trained with the strategy (``fit(..., strategy=instance)``: arrays with shuffling, a batch
    that does not divide the data, validation; then a PyDataset) ends with the same weights and ``History`` as without
    one, to 1e-12, and ``evaluate`` and ``predict`` through it give the same figures and predictions."""
    _alone(s)
    rng = np.random.default_rng(s.seed)
    X = rng.normal(size=(45, 4))
    y = np.eye(3)[rng.integers(0, 3, 45)]
    runs = []
    for strategy in (None, s.make()):
        model = _model()
        history = model.fit(X, y, epochs=3, batch_size=8, validation_split=0.2, seed=11, verbose=0, strategy=strategy).history
        streamed = model.fit(_Batches(X, y, 10), epochs=2, verbose=0, strategy=strategy).history
        figures = model.evaluate(X, y, batch_size=16, strategy=strategy)
        runs.append((model.get_weights(), history, streamed, figures, model.predict(X, batch_size=16, strategy=strategy)))
    (w0, h0, d0, e0, p0), (w1, h1, d1, e1, p1) = runs
    for what, a, b in (("the History of fit on arrays", h0, h1), ("the History of fit on a PyDataset", d0, d1)):
        expect(sorted(a) == sorted(b) and all(len(a[k]) == len(b[k]) for k in a), f"{what}: the same keys and epochs",
               f"{ {k: len(v) for k, v in b.items()} } against { {k: len(v) for k, v in a.items()} }")
        worst = max(abs(u - v) for k in a for u, v in zip(a[k], b[k]))
        expect(worst <= TRAINING_TOLERANCE, f"{what}: the same figures to {TRAINING_TOLERANCE}", f"a difference of {worst:.3g}")
    worst = max(_gap(a, b) for a, b in zip(w0, w1))
    expect(worst <= TRAINING_TOLERANCE, f"the same weights after training to {TRAINING_TOLERANCE}", f"a difference of {worst:.3g}")
    expect(max(abs(a - b) for a, b in zip(e0, e1)) <= TRAINING_TOLERANCE, f"evaluate's figures {e0}", f"{e1}")
    expect(_gap(p0, p1) <= TRAINING_TOLERANCE, f"predict's {p0.shape} predictions", lambda: f"{p1.shape}: {max_difference(p0, p1)}")


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """The largest absolute difference of two arrays (infinite when their shapes differ)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b), initial=0.0)) if a.shape == b.shape else float("inf")


@check("strategy")
def strategy_config_round_trips(s: Subject) -> None:
    """``from_config`` of a JSON round trip of ``get_config()`` gives the same config and a strategy of the same rank and size."""

    def same(first, second) -> None:
        expect((second.rank, second.size) == (first.rank, first.size), f"rank {first.rank} of {first.size}",
               f"rank {second.rank} of {second.size}")

    check_config(s, lambda subject: subject.make(), same, lambda subject: subject.make().size)
