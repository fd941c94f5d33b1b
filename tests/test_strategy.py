"""Strategies in one process: the conformance checks have teeth, and the engine's multi-rank logic is right.

The engine's side of data parallelism (shares of each global batch, gradients scaled and
summed, global figures, agreed stops, rank 0 alone writing, errors ending every rank) is tested
here without MPI: ``ThreadRank`` is a strategy whose "processes" are threads of this process,
meeting at a barrier, so two ranks train two models at once exactly as two MPI processes would.
Training over them must equal training in one process with the same global batch. The same
cases over real processes are in ``tests/test_mpi.py``.
"""

from __future__ import annotations

import copy
import csv
import json
import threading
import time

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core.callbacks import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, TerminateOnNaN
from minikeras_core.hooks import hookimpl
from minikeras_core.registry import REGISTRY
from minikeras_core.strategy import Strategy, current, writes_files
from minikeras_core.testing import FAILED, PASSED, SKIPPED, check_names, check_plugin

TOLERANCE = 1e-10  # float64: two ranks sum the gradient of the batch in two parts, one process in one


# -- a strategy over threads ----------------------------------------------------------------------


class ThreadGroup:
    """What the ranks of one job share: one slot per rank and a barrier that an abort breaks.

    Unlike ``threading.Barrier``, a rank released from a wait goes on even if another rank
    aborts at once (as each MPI rank raises its own error when all of them fail alike).
    """

    def __init__(self, size: int, timeout: float = 60) -> None:
        self.size, self.timeout = size, timeout
        self.slots: list = [None] * size
        self.condition = threading.Condition()
        self.arrived = self.generation = 0
        self.aborted = False

    def wait(self) -> None:
        with self.condition:
            if self.aborted:
                raise threading.BrokenBarrierError
            generation = self.generation
            self.arrived += 1
            if self.arrived == self.size:
                self.arrived, self.generation = 0, generation + 1
                self.condition.notify_all()
                return
            self.condition.wait_for(lambda: self.generation != generation or self.aborted, self.timeout)
            if self.generation == generation:  # aborted by another rank, or a rank never came
                raise threading.BrokenBarrierError

    def abort(self) -> None:
        with self.condition:
            self.aborted = True
            self.condition.notify_all()

    def exchange(self, rank: int, value):
        """Every rank's ``value``, in rank order (a barrier on each side, so the slots are free again after)."""
        self.slots[rank] = value
        self.wait()
        values = list(self.slots)
        self.wait()
        return values


class ThreadRank(Strategy):
    """Rank ``rank`` of a :class:`ThreadGroup`: the collectives through the group's slots."""

    def __init__(self, group: ThreadGroup, rank: int) -> None:
        self.group, self._rank = group, rank

    @property
    def rank(self) -> int:
        return self._rank

    @property
    def size(self) -> int:
        return self.group.size

    def all_reduce(self, array):
        values = self.group.exchange(self.rank, array.copy())
        total = values[0].copy()
        for value in values[1:]:
            total += value
        array[...] = total

    def broadcast(self, array, root=0):
        array[...] = self.group.exchange(self.rank, array.copy())[root]

    def all_gather(self, array):
        return np.concatenate(self.group.exchange(self.rank, np.array(array)))

    def broadcast_object(self, value, root=0):
        return copy.deepcopy(self.group.exchange(self.rank, value)[root])

    def all_gather_object(self, value):
        return copy.deepcopy(self.group.exchange(self.rank, value))

    def abort(self, error):
        self.group.abort()  # the others' next collective raises BrokenBarrierError instead of waiting


def run_ranks(size: int, job, timeout: float = 120):
    """Run ``job(strategy)`` on ``size`` threads, one rank each; ``[(result, error)]`` by rank."""
    group = ThreadGroup(size)
    outcomes: list = [(None, None)] * size

    def run(rank: int) -> None:
        try:
            outcomes[rank] = (job(ThreadRank(group, rank)), None)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            outcomes[rank] = (None, error)

    threads = [threading.Thread(target=run, args=(rank,), daemon=True) for rank in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a rank hangs"
    return outcomes


def results(outcomes):
    errors = [error for _, error in outcomes if error is not None]
    if errors:
        raise errors[0]
    return [result for result, _ in outcomes]


# -- models and data -----------------------------------------------------------------------------


def digits(n: int = 90):
    X, y = mk.datasets.load_digits()
    return X[:n].reshape(n, 64) / 16.0, y[:n]


def mlp(optimizer="adam", seed: int = 0, dropout: float = 0.0):
    model = mk.Sequential(seed=seed, dtype="float64")
    model.add("dense", units=12, activation="tanh", input_size=(64,))
    if dropout:
        model.add("dropout", rate=dropout)
    model.add("dense", units=10, activation="softmax")
    model.compile("sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def train(model, X, y, strategy=None, **kwargs):
    options = {"epochs": 3, "batch_size": 16, "seed": 7, "verbose": 0, "validation_split": 0.2, **kwargs}
    return model.fit(X, y, strategy=strategy, **options).history


def gap(a, b) -> float:
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)), initial=0.0)) for u, v in zip(a, b))


def history_gap(a: dict, b: dict) -> float:
    assert sorted(a) == sorted(b) and all(len(a[k]) == len(b[k]) for k in a), (a, b)
    return max(abs(u - v) for k in a for u, v in zip(a[k], b[k]))


OPTIMIZERS = sorted({REGISTRY.name_of(REGISTRY.resolve("optimizer", name)) for name in mk.list_plugins()["optimizer"]})


# -- two ranks over threads equal one process ------------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_two_ranks_train_as_one_process_with_every_optimizer(optimizer):
    X, y = digits(90)  # 72 training samples in batches of 16: the last batch of 8, and validation of 18 split 9/9
    reference = mlp(optimizer)
    expected = train(reference, X, y)

    def job(strategy):
        model = mlp(optimizer, seed=strategy.rank)  # rank 1 starts from other weights: rank 0's are broadcast
        history = train(model, X, y, strategy)
        return model.get_weights(), history, model.evaluate(X, y, strategy=strategy), model.predict(X, strategy=strategy)

    ranks = results(run_ranks(2, job))
    for weights, history, figures, predictions in ranks:
        assert gap(weights, reference.get_weights()) < TOLERANCE
        assert history_gap(history, expected) < TOLERANCE
        assert gap(figures, reference.evaluate(X, y)) < TOLERANCE
        assert predictions.shape == (90, 10) and gap([predictions], [reference.predict(X)]) < TOLERANCE
    assert ranks[0][1] == ranks[1][1]  # the same History on every rank, exactly


@pytest.mark.parametrize("size", [2, 3])
def test_uneven_shares_are_weighted_by_their_rows(size):
    X, y = digits(61)  # batches of 25, 25, 11: shares 9/8/8 and 4/4/3 over three ranks, 13/12 and 6/5 over two
    reference = mlp("rmsprop")
    expected = train(reference, X, y, batch_size=25, validation_split=0.0, epochs=2)
    outcomes = results(run_ranks(size, lambda s: (lambda m: (train(m, X, y, s, batch_size=25, validation_split=0.0, epochs=2),
                                                               m.get_weights()))(mlp("rmsprop"))))
    assert len(outcomes) == size
    for history, weights in outcomes:
        assert history_gap(history, expected) < TOLERANCE and gap(weights, reference.get_weights()) < TOLERANCE


def test_a_batch_smaller_than_the_ranks_leaves_a_rank_without_rows():
    X, y = digits(13)  # batches of 4, 4, 4, 1: the last one gives rank 1 nothing, which still takes part in the sum
    reference = mlp("sgd")
    expected = train(reference, X, y, batch_size=4, validation_split=0.0, shuffle=False)
    outcomes = results(run_ranks(2, lambda s: (lambda m: (train(m, X, y, s, batch_size=4, validation_split=0.0, shuffle=False),
                                                          m.get_weights()))(mlp("sgd"))))
    for history, weights in outcomes:
        assert history_gap(history, expected) < TOLERANCE and gap(weights, reference.get_weights()) < TOLERANCE


def test_dropout_draws_the_noise_of_the_rows_in_the_global_batch():
    X, y = digits(64)
    reference = mlp("adam", dropout=0.3)
    expected = train(reference, X, y, validation_split=0.0)
    outcomes = results(run_ranks(2, lambda s: (lambda m: (train(m, X, y, s, validation_split=0.0), m.get_weights()))(
        mlp("adam", dropout=0.3))))
    for history, weights in outcomes:
        assert history_gap(history, expected) < TOLERANCE and gap(weights, reference.get_weights()) < TOLERANCE


def test_evaluate_and_predict_give_every_rank_the_whole_figures():
    X, y = digits(101)
    model = mlp()
    train(model, X, y)
    weights = model.get_weights()

    def job(strategy):
        replica = mlp(seed=0)
        replica.set_weights(weights)
        return (replica.evaluate(X, y, batch_size=7, strategy=strategy, return_dict=True),
                replica.predict(X, batch_size=7, strategy=strategy),
                replica.predict(X[:1], strategy=strategy))  # one row: rank 1 predicts none

    for figures, predictions, one in results(run_ranks(2, job)):
        assert figures.keys() == {"loss", "accuracy"}
        assert gap(list(figures.values()), model.evaluate(X, y)) < TOLERANCE
        assert gap([predictions], [model.predict(X)]) < TOLERANCE and one.shape == (1, 10)


# -- stops, files, errors -------------------------------------------------------------------------


class StopOnRank(Callback):
    """Asks to stop at the end of ``epoch`` on rank ``rank`` only."""

    def __init__(self, rank: int, epoch: int, strategy) -> None:
        self.rank, self.epoch, self.strategy = rank, epoch, strategy

    def on_epoch_end(self, model, epoch, logs):
        if self.strategy.rank == self.rank and epoch == self.epoch:
            model.stop_training = True


def test_a_stop_on_one_rank_stops_every_rank_at_the_same_epoch():
    X, y = digits(80)

    def job(strategy):
        model = mlp()
        by_callback = len(train(model, X, y, strategy, epochs=6, callbacks=[StopOnRank(1, 2, strategy)])["loss"])
        early = train(mlp(), X, y, strategy, epochs=40, callbacks=[EarlyStopping(monitor="val_loss", min_delta=0.02)])
        return by_callback, len(early["loss"])

    alone = len(train(mlp(), X, y, epochs=40, callbacks=[EarlyStopping(monitor="val_loss", min_delta=0.02)])["loss"])
    outcomes = results(run_ranks(2, job))
    assert [o[0] for o in outcomes] == [3, 3]  # stopped after epoch index 2 on rank 1: both ranks
    assert [o[1] for o in outcomes] == [alone, alone] and alone < 40


class StopAtBatchOnRank(Callback):
    def __init__(self, rank: int, strategy) -> None:
        self.rank, self.strategy = rank, strategy

    def on_batch_end(self, model, batch, logs):
        if self.strategy.rank == self.rank and batch == 1:
            model.stop_training = True


def test_progress_on_rank_0_alone_keeps_the_ranks_in_step(capsys):
    # rank 0's progress bar listens to batches and rank 1 has no callback: every rank must still call the same collectives
    X, y = digits(80)
    expected = train(mlp(), X, y)
    for history in results(run_ranks(2, lambda s: train(mlp(), X, y, s, verbose=1))):
        assert history_gap(history, expected) < TOLERANCE
    assert capsys.readouterr().out.count("Epoch 1/3") == 1  # rank 0's bar only
    stopped = results(run_ranks(2, lambda s: train(mlp(), X, y, s, verbose=1, callbacks=[StopAtBatchOnRank(1, s)])))
    assert [len(h["loss"]) for h in stopped] == [1, 1]  # rank 1 stops after its second batch: rank 0 too


def test_terminate_on_nan_stops_every_rank():
    X, y = digits(40)
    X = X.copy()
    X[30:] = 1e200  # rows of rank 1 in the second batch: their squared error overflows

    def job(strategy):
        model = mk.Sequential(seed=0, dtype="float64")
        model.add("dense", units=1, input_size=(64,))
        model.compile("mse", optimizer="sgd")
        return train(model, X, y[:, None], strategy, validation_split=0.0, shuffle=False, callbacks=[TerminateOnNaN()], batch_size=20)

    for history in results(run_ranks(2, job)):
        assert len(history["loss"]) == 1 and not np.isfinite(history["loss"][0])


def test_only_rank_0_writes_files(tmp_path):
    X, y = digits(60)
    for rank in (0, 1):
        (tmp_path / f"rank{rank}").mkdir()

    def job(strategy):
        folder = tmp_path / f"rank{strategy.rank}"
        model = mlp()
        train(model, X, y, strategy, callbacks=[ModelCheckpoint(str(folder / "best.mk"), save_best_only=True),
                                                CSVLogger(str(folder / "log.csv"))])
        model.save(str(folder / "model.mk"))
        model.save_weights(str(folder / "model.weights.mk"))
        return writes_files(model)

    assert results(run_ranks(2, job)) == [True, False]
    assert sorted(p.name for p in (tmp_path / "rank0").iterdir()) == ["best.mk", "log.csv", "model.mk", "model.weights.mk"]
    assert not list((tmp_path / "rank1").iterdir())
    with open(tmp_path / "rank0" / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]


class FailOnRank(Callback):
    def __init__(self, rank: int, strategy) -> None:
        self.rank, self.strategy = rank, strategy

    def on_epoch_end(self, model, epoch, logs):
        if self.strategy.rank == self.rank and epoch == 1:
            raise RuntimeError(f"rank {self.rank} fails on purpose")


def test_an_error_on_one_rank_ends_every_rank_without_a_hang():
    X, y = digits(60)
    start = time.perf_counter()
    outcomes = run_ranks(2, lambda s: train(mlp(), X, y, s, epochs=50, callbacks=[FailOnRank(1, s)]), timeout=30)
    assert time.perf_counter() - start < 30
    assert isinstance(outcomes[1][1], RuntimeError) and "fails on purpose" in str(outcomes[1][1])
    assert isinstance(outcomes[0][1], threading.BrokenBarrierError)  # rank 0 was released by rank 1's abort


def test_different_data_lengths_are_a_clear_error_naming_the_ranks():
    X, y = digits(60)
    outcomes = run_ranks(3, lambda s: train(mlp(), X[: 60 - (s.rank == 2)], y[: 60 - (s.rank == 2)], s, validation_split=0.0))
    for _, error in outcomes:
        assert isinstance(error, ValueError)
        assert "the number of training samples differs across ranks: rank 0 has 60, rank 2 has 59" in str(error)


def test_different_models_are_a_clear_error_naming_the_ranks():
    X, y = digits(60)

    def job(strategy):
        model = mk.Sequential(seed=0, dtype="float64")
        model.add("dense", units=12 + strategy.rank, activation="tanh", input_size=(64,))
        model.add("dense", units=10, activation="softmax")
        model.compile("sparse_categorical_crossentropy", optimizer="sgd")
        return train(model, X, y, strategy)

    for _, error in run_ranks(2, job):
        assert isinstance(error, ValueError) and "the model (its architecture) differs across ranks" in str(error)
        assert "rank 1 has" in str(error)


# -- data that streams ------------------------------------------------------------------------------


class Batches:
    """A PyDataset over arrays that records which batches it was asked for."""

    def __init__(self, X, y, batch: int) -> None:
        self.X, self.y, self.batch, self.read = X, y, batch, []
        self.epochs_ended = 0

    def __len__(self) -> int:
        return -(-len(self.X) // self.batch)

    def __getitem__(self, index: int):
        self.read.append(index)
        return self.X[index * self.batch : (index + 1) * self.batch], self.y[index * self.batch : (index + 1) * self.batch]

    def on_epoch_end(self) -> None:
        self.epochs_ended += 1


def test_a_pydataset_streams_each_rank_its_own_batches():
    X, y = digits(80)  # 8 batches of 10: each step trains on two of them, one per rank
    reference = mlp()
    expected = reference.fit(Batches(X, y, 20), epochs=2, verbose=0).history  # one process: the two batches as one

    def job(strategy):
        dataset = Batches(X, y, 10)
        model = mlp()
        history = model.fit(dataset, epochs=2, verbose=0, strategy=strategy).history
        return dataset.read, dataset.epochs_ended, history, model.get_weights(), model.evaluate(Batches(X, y, 10), strategy=strategy)

    outcomes = results(run_ranks(2, job))
    assert outcomes[0][0] == [0, 2, 4, 6] * 2 and outcomes[1][0] == [1, 3, 5, 7] * 2
    for _, ended, history, weights, figures in outcomes:
        assert ended == 2
        assert history_gap(history, expected) < TOLERANCE and gap(weights, reference.get_weights()) < TOLERANCE
        assert gap(figures, reference.evaluate(X, y)) < TOLERANCE


def test_a_generator_per_rank_trains_as_one_process_on_the_whole_batches():
    X, y = digits(80)
    reference = mlp()
    expected = reference.fit(X, y, batch_size=20, epochs=2, shuffle=False, verbose=0).history

    def own_rows(rank):  # each rank's generator yields that rank's half of every batch of 20
        while True:
            for start in range(0, 80, 20):
                yield X[start + 10 * rank : start + 10 * rank + 10], y[start + 10 * rank : start + 10 * rank + 10]

    outcomes = results(run_ranks(2, lambda s: (lambda m: (m.fit(own_rows(s.rank), steps_per_epoch=4, epochs=2, verbose=0,
                                                                strategy=s).history, m.get_weights()))(mlp())))
    for history, weights in outcomes:
        assert history_gap(history, expected) < TOLERANCE and gap(weights, reference.get_weights()) < TOLERANCE


def test_a_memmap_trains_a_batch_at_a_time_with_two_ranks(tmp_path):
    X, y = digits(96)
    path = tmp_path / "x.f32"
    X.astype(np.float32).tofile(path)
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    reference = mlp()
    expected = train(reference, X.astype(np.float32).astype(np.float64), y)
    outcomes = results(run_ranks(2, lambda s: (lambda m: (train(m, mapped, y, s), m.get_weights(),
                                                          m.predict(mapped, strategy=s)))(mlp())))
    for history, weights, predictions in outcomes:
        assert history_gap(history, expected) < TOLERANCE and gap(weights, reference.get_weights()) < TOLERANCE
        assert predictions.shape == (96, 10)


# -- the distribute block and the built-in one-process strategy ----------------------------------------


def test_distribute_block_and_one_process_train_as_no_strategy(tmp_path):
    X, y = digits(70)
    reference = mlp()
    expected = train(reference, X, y)
    model = mlp()
    with mk.distribute("one_process") as strategy:
        assert current() is strategy and strategy.rank == 0 and strategy.size == 1 and writes_files()
        history = train(model, X, y)
        figures = model.evaluate(X, y)
        model.save(str(tmp_path / "m.mk"))
    assert current() is None and model.distribute_strategy is strategy
    assert history == expected and gap(model.get_weights(), reference.get_weights()) == 0.0
    assert gap(figures, reference.evaluate(X, y)) == 0.0 and (tmp_path / "m.mk").exists()


# -- the strategy checks have teeth ---------------------------------------------------------------------


class Good(Strategy):
    """A correct one-process strategy, written here independently of the built-in one."""

    @property
    def rank(self):
        return 0

    @property
    def size(self):
        return 1

    def all_reduce(self, array):
        array += 0

    def broadcast(self, array, root=0):
        pass

    def all_gather(self, array):
        return np.array(array, copy=True)

    def broadcast_object(self, value, root=0):
        return copy.deepcopy(value)

    def all_gather_object(self, value):
        return [copy.deepcopy(value)]

    def abort(self, error):
        pass


class SizeZero(Good):
    @property
    def size(self):
        return 0


class CountsFromOne(Good):
    @property
    def rank(self):
        return 1  # MPI ranks count from 0: this process takes no rows of any batch


class ReturnsTheSum(Good):
    def all_reduce(self, array):
        return array + 0  # as mpi4py's lowercase allreduce: a new object, the array itself never summed


class Doubles(Good):
    def all_reduce(self, array):
        array *= 2  # as if the process's own share were counted twice


class BroadcastsZeros(Good):
    def broadcast(self, array, root=0):
        if self.rank == root:  # the test is the wrong way round: the root's own array is overwritten
            array[...] = 0


class GathersFlat(Good):
    def all_gather(self, array):
        return np.ravel(array)


class ObjectsAsJson(Good):
    def broadcast_object(self, value, root=0):
        return json.loads(json.dumps(value, default=str))


class DropsTheRemainder(Good):
    def share(self, start, stop):
        size = (stop - start) // self.size
        return start + self.rank * size, start + (self.rank + 1) * size


class HookWithoutMark(Good):
    def on_gradients_ready(self, model, grads):  # an override without @hookimpl: pluggy never calls it
        for grad in grads:
            self.all_reduce(grad)


class SumsACopy(Good):
    @hookimpl
    def on_gradients_ready(self, model, grads):
        self.all_reduce(np.concatenate([g.ravel() for g in grads]))  # summed, but the result never reaches grads


class ForgetsItsArgument(Good):
    def __init__(self, threads: int = 1):
        self.threads = threads

    def get_config(self):
        return {}


BROKEN = [
    (SizeZero, {"strategy_rank_and_size_describe_the_process"}),
    (CountsFromOne, {"strategy_rank_and_size_describe_the_process", "strategy_share_covers_every_row_once",
                     "strategy_trains_as_no_strategy_on_one_process"}),
    (ReturnsTheSum, {"strategy_all_reduce_is_the_identity_in_place_on_one_process"}),
    (Doubles, {"strategy_all_reduce_is_the_identity_in_place_on_one_process", "strategy_sums_gradients_through_the_hook",
               "strategy_trains_as_no_strategy_on_one_process"}),
    (BroadcastsZeros, {"strategy_broadcast_is_the_identity_in_place_on_one_process", "strategy_trains_as_no_strategy_on_one_process"}),
    (GathersFlat, {"strategy_all_gather_returns_the_rows_on_one_process", "strategy_trains_as_no_strategy_on_one_process"}),
    (ObjectsAsJson, {"strategy_objects_travel_unchanged_on_one_process", "strategy_trains_as_no_strategy_on_one_process"}),
    (DropsTheRemainder, {"strategy_share_covers_every_row_once"}),
    (HookWithoutMark, {"strategy_sums_gradients_through_the_hook"}),
    (SumsACopy, {"strategy_sums_gradients_through_the_hook"}),
    (ForgetsItsArgument, {"strategy_config_round_trips"}),
]


class ThreadRankOfOne(ThreadRank):
    """The thread strategy of the tests above, as rank 0 of a group of one."""

    def __init__(self) -> None:
        super().__init__(ThreadGroup(1), 0)

    def get_config(self):
        return {}


def test_a_correct_strategy_passes_every_check():
    for cls in (Good, ThreadRankOfOne):
        results_ = check_plugin("strategy", cls)
        assert [r.check for r in results_] == check_names("strategy")
        assert all(r.status == PASSED for r in results_), [r.message for r in results_ if r.status != PASSED]


@pytest.mark.parametrize("cls, failing", BROKEN, ids=[cls.__name__ for cls, _ in BROKEN])
def test_each_broken_strategy_is_caught_by_the_check_named_for_its_bug(cls, failing):
    outcome = {r.check: r for r in check_plugin("strategy", cls)}
    assert {name for name, r in outcome.items() if r.status == FAILED} == failing, {n: r.message for n, r in outcome.items()}
    for name in failing:
        message = outcome[name].message
        assert name in message and cls.__name__ in message and "expected" in message and "found" in message
    if cls is SizeZero:  # the one-process checks do not apply to a strategy that says it is not one process
        assert outcome["strategy_all_reduce_is_the_identity_in_place_on_one_process"].status == SKIPPED


def test_a_strategy_of_several_processes_skips_the_one_process_checks():
    class SecondOfTwo(Good):
        @property
        def rank(self):
            return 1

        @property
        def size(self):
            return 2

    outcome = {r.check: r for r in check_plugin("strategy", SecondOfTwo)}
    skipped = {name for name, r in outcome.items() if r.status == SKIPPED}
    assert skipped == {name for name in check_names("strategy") if "one_process" in name or "gradients" in name}
    assert all(r.status == PASSED for name, r in outcome.items() if name not in skipped)
    assert "more than one process" in outcome["strategy_trains_as_no_strategy_on_one_process"].message
