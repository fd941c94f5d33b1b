"""``Sequential.predict`` runs parts of each chunk on threads: same numbers as one forward pass, in order."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core import Layer
from minikeras_core.engine import parallel, step
from minikeras_core.engine import threads as engine_threads


class Recorder(Layer):
    """The identity, noting which threads ran it."""

    def __init__(self, parallel: bool = True, fail_at: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.parallel_inference = parallel
        self.fail_at = fail_at
        self.threads: set = set()
        self.lock = threading.Lock()

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        with self.lock:
            self.threads.add(threading.get_ident())
        if self.fail_at is not None and np.any(X == self.fail_at):
            raise RuntimeError("Recorder: met the marked sample")
        return X.copy()

    def call_backward(self, grad: np.ndarray) -> np.ndarray:
        return grad


@pytest.mark.parametrize("batch_size", [None, 7, 32, 100])
def test_predict_equals_one_forward_pass(batch_size, small_parts, small_cnn):
    model = small_cnn()
    X = np.random.default_rng(1).standard_normal((100, 10, 10, 1)).astype(np.float32)
    whole = step.forward(model.layers, X)  # one pass over every sample, no chunks, no threads
    got = model.predict(X, batch_size=batch_size)
    assert got.dtype == np.float32 and got.shape == (100, 5)
    np.testing.assert_allclose(got, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict(X, batch_size=batch_size), got)  # deterministic


def test_predict_keeps_sample_order_with_threads(small_parts, need_threads):
    """An identity model returns its input: every part lands in its own rows."""
    model = mk.Sequential(dtype="float64")
    model.add(Recorder(input_size=(3,)))
    X = np.arange(3 * 1001, dtype=np.float64).reshape(1001, 3)
    np.testing.assert_array_equal(model.predict(X, batch_size=64), X)
    assert threading.get_ident() not in model.layers[0].threads


def test_small_models_stay_on_the_calling_thread():
    model = mk.Sequential(dtype="float64")
    model.add(Recorder(input_size=(3,)))
    X = np.ones((1000, 3))
    np.testing.assert_array_equal(model.predict(X), X)
    assert model.layers[0].threads == {threading.get_ident()}


def test_large_activations_use_one_part_per_core():
    model = mk.Sequential(dtype="float32")
    model.add(Recorder(input_size=(64, 64, 8)))  # 32,768 values per sample
    assert parallel.parts_for(model.layers, 256, training=False) == min(8, engine_threads.available_cores())  # 256 * 32,768 values: 8 parts of 2**20
    assert parallel.parts_for(model.layers, 8, training=False) == 1  # too little work to share


def test_layer_may_refuse_parallel_inference(small_parts):
    model = mk.Sequential(dtype="float64")
    model.add(Recorder(parallel=False, input_size=(3,)))
    X = np.ones((500, 3))
    np.testing.assert_array_equal(model.predict(X, batch_size=50), X)
    assert model.layers[0].threads == {threading.get_ident()}


def test_error_in_a_part_reaches_the_caller_and_blas_threads_are_restored(small_parts):
    model = mk.Sequential(dtype="float64")
    model.add(Recorder(fail_at=-1.0, input_size=(2,)))
    X = np.zeros((300, 2))
    X[250] = -1.0
    controller = engine_threads.blas_controller()
    before = controller.info() if controller else None
    with pytest.raises(RuntimeError, match="met the marked sample"):
        model.predict(X, batch_size=32)
    if controller:
        assert controller.info() == before


def test_predictions_on_two_user_threads_restore_blas_threads(small_parts, small_cnn):
    """predict on several user threads at once: right numbers, and BLAS's thread counts as they were afterwards."""
    controller = engine_threads.blas_controller()
    before = controller.info() if controller else None
    model = small_cnn()
    X = np.random.default_rng(2).standard_normal((300, 10, 10, 1)).astype(np.float32)
    expected = step.forward(model.layers, X)
    results, errors = {}, []

    def predict_many(key: int) -> None:
        try:
            for _ in range(5):
                results[key] = model.predict(X, batch_size=64)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=predict_many, args=(key,)) for key in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for got in results.values():
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    if controller:
        assert controller.info() == before


def test_overlapping_blas_limits_restore_in_any_order(need_threads):
    """Two Workers (two predict calls on user threads, say) limit and release BLAS in crossed order."""
    controller = engine_threads.blas_controller()
    before = controller.info()
    with engine_threads.Workers(2) as first, engine_threads.Workers(2) as second:
        assert first.parts == second.parts == 2  # both made before either limits BLAS
        first_limit, second_limit = first.blas_limited(), second.blas_limited()
        first_limit.__enter__()
        second_limit.__enter__()
        assert engine_threads.available_cores() == 1
        first_limit.__exit__(None, None, None)
        assert engine_threads.available_cores() == 1  # the second still runs its parts
        second_limit.__exit__(None, None, None)
    assert controller.info() == before
