"""``Layer.workspace``: reused memory per layer and thread, never shared with replicas, copies or other threads."""

from __future__ import annotations

import copy
import pickle
import threading

import numpy as np

import minikeras_core as mk


def dense():
    return mk.Sequential(dtype="float32").add("dense", units=3, input_size=(2,))


def test_same_memory_on_each_call_and_a_larger_request_grows_it():
    layer = dense()
    first = layer.workspace("x", (4, 5), np.float32)
    again = layer.workspace("x", (2, 5), np.float32)
    assert np.shares_memory(first, again) and again.shape == (2, 5) and again.dtype == np.float32
    grown = layer.workspace("x", (10, 5), np.float32)
    assert grown.shape == (10, 5)
    assert not np.shares_memory(grown, layer.workspace("y", (10, 5), np.float32))  # names are separate
    assert not np.shares_memory(grown, layer.workspace("x", (10, 5), np.float64))  # and dtypes


def test_threads_replicas_and_copies_get_their_own():
    layer = dense()
    mine = layer.workspace("x", (8,), np.float32)
    other = []
    thread = threading.Thread(target=lambda: other.append(layer.workspace("x", (8,), np.float32)))
    thread.start()
    thread.join()
    assert not np.shares_memory(mine, other[0])
    for twin in (layer.replica(), copy.copy(layer), copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert not np.shares_memory(mine, twin.workspace("x", (8,), np.float32))


def test_predicting_between_forward_and_backward_leaves_the_kept_patches_alone():
    """A narrow Conv2D keeps P in a workspace: a prediction in between must not overwrite it."""
    rng = np.random.default_rng(0)
    layer = mk.Sequential(dtype="float64", seed=0).add("conv2d", ksize=3, filters=2, input_size=(6, 6, 1))
    X, G = rng.standard_normal((3, 6, 6, 1)), rng.standard_normal((3, 4, 4, 2))
    layer.forward(X, training=True)
    layer.backward(G)
    expected = layer.grads["kernel"].copy()
    layer.forward(X, training=True)
    layer.forward(rng.standard_normal((3, 6, 6, 1)))  # prediction on the same thread
    layer.backward(G)
    np.testing.assert_array_equal(layer.grads["kernel"], expected)
