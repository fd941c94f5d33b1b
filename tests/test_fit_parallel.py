"""``fit`` trains parts of a batch on threads through layer replicas: the same step as one pass over the batch."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core import Layer
from minikeras_core.engine import parallel
from minikeras_core.engine import threads as engine_threads
from minikeras_core.engine.flat import can_flatten
from minikeras_core.optimizers import SGD


def data(n: int = 40, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 10, 10, 1)), rng.integers(0, 5, n)


class Recorder(Layer):
    """Scales by a weight, noting which threads ran its forward pass in training."""

    def __init__(self, parallel: bool = True, fail_at: float | None = None, barrier=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.parallel_training = parallel
        self.barrier = barrier
        self.fail_at = fail_at
        self.threads: set = set()
        self.lock = threading.Lock()

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def create_weights(self, input_shape: tuple) -> None:
        self.add_weight("scale", input_shape, "ones")

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            with self.lock:  # replicas share this set and lock (a shallow copy): the test reads them all here
                self.threads.add(threading.get_ident())
            if self.barrier is not None:  # every part must be running at once to pass
                self.barrier.wait()
        if self.fail_at is not None and np.any(X == self.fail_at):
            raise RuntimeError("Recorder: met the marked sample")
        self._X = X
        return X * self.params["scale"]

    def call_backward(self, grad: np.ndarray) -> np.ndarray:
        self.grads["scale"][...] = np.sum(grad * self._X, axis=0)
        return grad * self.params["scale"]

    def replica(self) -> Layer:
        # shares the record, its lock and the barrier on purpose (a deep copy cannot copy a lock)
        clone = copy.copy(self)
        clone.grads = {name: np.zeros_like(g) for name, g in self.grads.items()}
        return clone


def fitted(model, optimizer: str, **fit_kwargs) -> list[np.ndarray]:
    model.compile("categorical_cross_entropy", optimizer=optimizer, metrics=["accuracy"])
    X, y = data()
    history = model.fit(X, y, verbose=0, seed=3, **fit_kwargs)
    return model.get_weights() + [np.array(history.history["loss"]), np.array(history.history["accuracy"])]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size", [7, 16, 40])
def test_fit_on_threads_equals_fit_on_one(optimizer, batch_size, use_parts, small_cnn):
    """Weights, logged loss and metrics after two epochs, the last batch of each epoch shorter (40 = 5 * 7 + 5)."""
    use_parts(False)
    one = fitted(small_cnn("float64"), optimizer, n_epochs=2, batch_size=batch_size)
    use_parts(True)
    many = fitted(small_cnn("float64"), optimizer, n_epochs=2, batch_size=batch_size)
    for a, b in zip(one, many):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    assert not np.allclose(one[0], small_cnn("float64").get_weights()[0])  # training moved the weights


def test_parts_run_at_once(small_parts, need_threads):
    parts = min(engine_threads.available_cores(), 8)
    barrier = threading.Barrier(parts, timeout=30)
    model = mk.Sequential(dtype="float64")
    model.add(Recorder(barrier=barrier, input_size=(3,)))
    model.add("dense", units=2, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer="sgd")
    X, y = np.random.default_rng(0).standard_normal((64, 3)), np.arange(64) % 2
    model.fit(X, y, batch_size=64, n_epochs=1, verbose=0)
    recorder = model.layers[0]
    assert len(recorder.threads) == parts
    assert threading.get_ident() not in recorder.threads


def test_replicas_share_the_weights_and_nothing_else(small_cnn):
    model = small_cnn("float64")
    stacks = parallel.Replicas(model.layers, None).get(2)
    for stack, grads in stacks:
        for layer, replica in zip(model.layers, stack):
            assert replica.params is layer.params and all(replica.params[k] is p for k, p in layer.params.items())
            assert not any(np.shares_memory(replica.grads[k], g) for k, g in layer.grads.items())
            assert replica.activation is not layer.activation or layer.activation is None
        assert len(grads) == sum(len(layer.grads) for layer in model.layers)
    assert stacks[0][0][0] is not stacks[1][0][0]


def test_a_layer_may_refuse_parallel_training(small_parts):
    model = mk.Sequential(dtype="float64")
    model.add(Recorder(parallel=False, input_size=(3,)))
    model.add("dense", units=2, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer="sgd")
    X, y = np.ones((64, 3)), np.zeros(64, dtype=int)
    model.fit(X, y, batch_size=64, n_epochs=2, verbose=0)
    assert model.layers[0].threads == {threading.get_ident()}


def test_error_in_a_part_reaches_the_caller_and_blas_threads_are_restored(small_parts):
    model = mk.Sequential(dtype="float64")
    model.add(Recorder(fail_at=-1.0, input_size=(2,)))
    model.add("dense", units=2, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer="sgd")
    X, y = np.zeros((64, 2)), np.zeros(64, dtype=int)
    X[50] = -1.0  # in the second part
    controller = engine_threads.blas_controller()
    before = controller.info() if controller else None
    with pytest.raises(RuntimeError, match="met the marked sample"):
        model.fit(X, y, batch_size=64, n_epochs=1, verbose=0, shuffle=False)
    if controller:
        assert controller.info() == before


def test_optimizer_without_flat_buffer_sums_the_parts_per_array(use_parts, small_cnn):
    """An optimizer that is not element-wise sees one gradient per weight array: the parts add up there too."""

    class PerArraySGD(SGD):
        elementwise = False

    results = []
    for threads in (False, True):
        use_parts(threads)
        model = small_cnn("float64")
        model.compile("categorical_cross_entropy", optimizer=PerArraySGD(learning_rate=0.1))
        X, y = data()
        model.fit(X, y, batch_size=20, n_epochs=2, verbose=0, shuffle=False)
        assert not can_flatten(model.layers, model.optimizer)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def test_thread_budget_follows_blas_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert engine_threads.available_cores() == 1
        assert engine_threads.Workers(4).parts == 1
    assert engine_threads.available_cores() >= 1


@pytest.mark.parametrize("n, parts", [(64, 2), (7, 3), (5, 8), (1, 2)])
def test_split_covers_every_sample_once(n, parts):
    bounds = engine_threads.split(n, parts)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a < b for a, b in bounds) and all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:]))
    sizes = [b - a for a, b in bounds]
    assert len(bounds) == min(n, parts) and max(sizes) - min(sizes) <= 1


def test_evaluate_and_validation_on_threads_equal_one_thread(monkeypatch, use_parts, small_cnn, need_threads):
    X, y = data(n=60)
    results, parts_run = [], []
    real_run = engine_threads.Workers.run

    def counting_run(self, work, arguments):
        arguments = list(arguments)
        parts_run.append(len(arguments))
        return real_run(self, work, arguments)

    monkeypatch.setattr(engine_threads.Workers, "run", counting_run)
    for threads in (False, True):
        use_parts(threads)
        model = small_cnn("float64")
        model.compile("categorical_cross_entropy", optimizer="adam", metrics=["accuracy"])
        history = model.fit(X[:40], y[:40], batch_size=16, n_epochs=2, verbose=0, validation_data=(X[40:], y[40:]))
        results.append([*model.evaluate(X, y, batch_size=25), *history.history["val_loss"], *history.history["val_accuracy"]])
    np.testing.assert_allclose(results[1], results[0], rtol=1e-9)
    assert max(parts_run) > 1  # the threaded run did cut chunks into parts


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_whole_batch_layer_anywhere_trains_as_one_piece(where, use_parts):
    """A layer with parallel_training = False runs once on the whole batch; the layers around it run in parts."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((64, 3)), np.arange(64) % 2
    results = []
    for threads in (False, True):
        use_parts(threads)
        model = mk.Sequential(dtype="float64", seed=1)
        if where == "first":
            model.add(Recorder(parallel=False, input_size=(3,)))
        model.add("dense", units=4, activation="tanh", input_shape=(3,) if where != "first" else None)
        if where == "middle":
            model.add(Recorder(parallel=False))
        model.add("dense", units=2, activation="softmax")
        if where == "last":
            model.add(Recorder(parallel=False))
        model.compile("categorical_cross_entropy", optimizer="adam")
        results.append((model.fit(X, y, batch_size=32, epochs=2, verbose=0).history["loss"], model.get_weights()))
        assert len(next(layer for layer in model.layers if isinstance(layer, Recorder)).threads) == 1
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-14)
