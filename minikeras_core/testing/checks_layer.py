"""Checks of the Layer contract: shapes, gradients, independence of samples, weights, config, dtype.

Every layer is built from a conformance case (which includes ``input_size``) with
``build(None, dtype=..., rng=...)`` and fed standard normal inputs of shape ``(batch, *input_size)``.
Gradients are checked in float64 against central differences of ``sum(G * forward(X))`` on a
random projection ``G`` of the output; large arrays are probed at a random subset of entries.
"""

from __future__ import annotations

import numpy as np

from ._base import (
    Subject,
    arrays_close,
    check,
    compare_gradients,
    config_round_trip,
    expect,
    expect_value_error,
    finite_difference,
    max_difference,
    probe_indices,
)


def _inputs(s: Subject, layer, batch: int, dtype=np.float64) -> np.ndarray:
    return s.rng.normal(size=(batch,) + tuple(layer.input_shape)).astype(dtype)


@check("layer")
def layer_output_shape_matches_forward(s: Subject) -> None:
    """``output_shape`` (and ``compute_output_shape``) equal the shape ``forward`` returns, for batches of 1 and 3."""
    layer = s.make_layer()
    expect(tuple(layer.output_shape) == tuple(layer.compute_output_shape(layer.input_shape)),
           f"output_shape equal to compute_output_shape({layer.input_shape})",
           lambda: f"{layer.output_shape} and {layer.compute_output_shape(layer.input_shape)}")
    for batch in (1, 3):
        Y = np.asarray(layer.forward(_inputs(s, layer, batch)))
        expected = (batch,) + tuple(layer.output_shape)
        expect(Y.shape == expected, f"forward of a batch of {batch} to have shape {expected} (batch, *output_shape)",
               f"shape {Y.shape}")


@check("layer")
def layer_grad_input_matches_finite_differences(s: Subject) -> None:
    """``backward(G)`` after ``forward(X, training=True)`` is the gradient of ``sum(G * forward(X))`` with respect to ``X``."""
    layer = s.make_layer()
    X = _inputs(s, layer, 2)
    Y = np.asarray(layer.forward(X.copy(), training=True))
    G = s.rng.normal(size=Y.shape)
    dX = np.asarray(layer.backward(G.copy()), dtype=np.float64)
    expect(dX.shape == X.shape, f"backward to return dL/dX of the input's shape {X.shape}", f"shape {dX.shape}")

    def objective() -> float:
        return float(np.sum(G * layer.forward(X, training=True)))

    numeric = {i: finite_difference(objective, X, i) for i in probe_indices(X.shape, s.rng)}
    compare_gradients("backward's input gradient dL/dX", {i: dX[i] for i in numeric}, numeric)


@check("layer")
def layer_param_grads_match_finite_differences(s: Subject) -> None:
    """Each ``grads[name]`` written by ``backward`` is the gradient of ``sum(G * forward(X))`` with respect to ``params[name]``."""
    layer = s.make_layer()
    X = _inputs(s, layer, 2)
    Y = np.asarray(layer.forward(X, training=True))
    G = s.rng.normal(size=Y.shape)
    for grad in layer.grads.values():
        grad[...] = np.nan  # a gradient backward forgets to write shows up as NaN
    layer.backward(G)
    grads = {name: np.array(g, dtype=np.float64) for name, g in layer.grads.items()}

    def objective() -> float:
        return float(np.sum(G * layer.forward(X, training=True)))

    for name, param in layer.params.items():
        expect(name in grads and grads[name].shape == param.shape, f"grads[{name!r}] of shape {param.shape}",
               lambda n=name: f"{grads[n].shape if n in grads else 'no such gradient'}")
        numeric = {i: finite_difference(objective, param, i) for i in probe_indices(param.shape, s.rng)}
        compare_gradients(f"the gradient of weight {name!r}", {i: grads[name][i] for i in numeric}, numeric)


@check("layer")
def layer_param_count_matches_weights(s: Subject) -> None:
    """``count_params()`` equals the sizes of ``get_weights()``; ``params`` and ``grads`` hold the same names and shapes."""
    layer = s.make_layer()
    weights = layer.get_weights()
    total = int(sum(np.asarray(w).size for w in weights))
    expect(layer.count_params() == total, f"count_params() == {total}, the total size of get_weights()", layer.count_params())
    expect(len(weights) == len(layer.params), f"get_weights() to return one array per weight ({len(layer.params)})",
           f"{len(weights)} arrays")
    expect(list(layer.grads) == list(layer.params), f"grads with the same names as params {list(layer.params)}",
           list(layer.grads))
    for name, param in layer.params.items():
        grad = layer.grads[name]
        expect(grad.shape == param.shape and grad.dtype == param.dtype,
               f"grads[{name!r}] of params[{name!r}]'s shape {param.shape} and dtype {param.dtype}",
               f"{grad.shape} {grad.dtype}")


@check("layer")
def layer_samples_are_independent(s: Subject) -> None:
    """A batch gives the same rows as its halves run one after the other: no mixing across samples."""
    layer = s.make_layer()
    X = _inputs(s, layer, 4)
    whole = np.asarray(layer.forward(X.copy()))
    halves = np.concatenate([np.asarray(layer.forward(X[:2].copy())), np.asarray(layer.forward(X[2:].copy()))])
    expect(arrays_close(whole, halves, rtol=1e-9, atol=1e-12),
           "forward(X) of 4 samples to equal forward of its two halves, stacked",
           lambda: max_difference(whole, halves))


@check("layer")
def layer_replica_trains_independently(s: Subject) -> None:
    """``replica()`` shares ``params`` and has its own ``grads``; a part trained on it interleaved with another on the layer gives each part's own outputs and gradients.

    ``fit`` trains parts of a batch at once on threads, one through the layer and the others
    through replicas. A layer with ``parallel_training = False`` is never replicated and passes.
    """
    layer = s.make_layer()
    if not getattr(layer, "parallel_training", True):
        return
    parts = [_inputs(s, layer, 2), _inputs(s, layer, 3)]
    alone, upstream = [], []  # each part on its own, one after the other
    for X in parts:
        Y = np.array(layer.forward(X.copy(), training=True))
        G = s.rng.normal(size=Y.shape)
        upstream.append(G)
        dX = np.array(layer.backward(G.copy()))
        alone.append((Y, dX, {name: g.copy() for name, g in layer.grads.items()}))
    replica = layer.replica()
    for name, param in layer.params.items():
        expect(replica.params.get(name) is param, f"the replica's params[{name!r}] to be the layer's own array (shared weights)",
               "another array")
        expect(replica.grads.get(name) is not layer.grads[name], f"the replica's grads[{name!r}] to be an array of its own",
               "the layer's array")
    # both forward passes before either backward, the replica's backward first: caches must not be shared
    first = np.array(layer.forward(parts[0].copy(), training=True))
    second = np.array(replica.forward(parts[1].copy(), training=True))
    dX_second = np.array(replica.backward(upstream[1].copy()))
    dX_first = np.array(layer.backward(upstream[0].copy()))
    for label, instance, Y, dX, (Y_alone, dX_alone, grads_alone) in (
        ("the layer's part", layer, first, dX_first, alone[0]),
        ("the replica's part", replica, second, dX_second, alone[1]),
    ):
        expect(arrays_close(Y, Y_alone), f"{label}: forward to equal the part's forward on its own",
               lambda Y=Y, Y_alone=Y_alone: max_difference(Y, Y_alone))
        expect(arrays_close(dX, dX_alone), f"{label}: backward's dL/dX to equal the part's on its own",
               lambda dX=dX, dX_alone=dX_alone: max_difference(dX, dX_alone))
        for name, grad in grads_alone.items():
            expect(arrays_close(instance.grads[name], grad), f"{label}: grads[{name!r}] to equal the part's on its own",
                   lambda name=name, instance=instance, grad=grad: max_difference(instance.grads[name], grad))


@check("layer")
def layer_weights_round_trip(s: Subject) -> None:
    """``set_weights(get_weights())`` into a second layer (in place) gives the same weights and outputs; ``get_weights`` returns copies."""
    first, second = s.make_layer(seed=0), s.make_layer(seed=1)
    weights = first.get_weights()
    arrays_before = {name: id(p) for name, p in second.params.items()}
    second.set_weights(weights)
    for index, (a, b) in enumerate(zip(weights, second.get_weights())):
        expect(np.array_equal(a, b), f"weight {index} read back as it was set", lambda a=a, b=b: max_difference(a, b))
    expect({name: id(p) for name, p in second.params.items()} == arrays_before,
           "set_weights to copy into the existing params arrays (the model may share them)", "new arrays in params")
    X = _inputs(s, first, 3)
    y1, y2 = np.asarray(first.forward(X.copy())), np.asarray(second.forward(X.copy()))
    expect(arrays_close(y1, y2), "the same output from a layer given the same weights", lambda: max_difference(y1, y2))
    for w in weights:
        w[...] = 123.0
    for index, p in enumerate(first.params.values()):
        expect(not np.any(p == 123.0) or p.size == 0, f"get_weights to return copies (weight {index})",
               "writing to the returned array changed the layer")


@check("layer")
def layer_config_rebuilds_same_layer(s: Subject) -> None:
    """``from_config`` of a JSON round trip of ``get_config()`` rebuilds a layer with the same output given the same weights."""
    first = s.make_layer(seed=0)
    _, second = config_round_trip(first)
    second.build(first.input_shape, dtype=np.float64, rng=np.random.default_rng(1))
    expect(tuple(second.output_shape) == tuple(first.output_shape), f"the rebuilt layer's output_shape {first.output_shape}",
           second.output_shape)
    second.set_weights(first.get_weights())
    X = _inputs(s, first, 3)
    y1, y2 = np.asarray(first.forward(X.copy())), np.asarray(second.forward(X.copy()))
    expect(arrays_close(y1, y2), "the same output from the rebuilt layer with the same weights", lambda: max_difference(y1, y2))


@check("layer")
def layer_rejects_wrong_input_shape(s: Subject) -> None:
    """Inputs whose sample shape is not ``input_shape`` (one more feature, a broadcastable 1, an extra axis, no batch axis) raise ``ValueError``."""
    layer = s.make_layer()
    shape = tuple(layer.input_shape)
    wrong = [(2,) + shape[:-1] + (shape[-1] + 1,), (2,) + shape + (2,), shape]
    if shape[-1] != 1:
        wrong.append((2,) + shape[:-1] + (1,))
    for bad in wrong:
        X = s.rng.normal(size=bad)
        expect_value_error(lambda X=X: layer.forward(X), f"ValueError for an input of shape {bad} (expects (batch, *{shape}))")


@check("layer")
def layer_keeps_dtype(s: Subject) -> None:
    """Built in float32 (float64), weights, outputs, input gradients and weight gradients are float32 (float64)."""
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        layer = s.make_layer(dtype=dtype)
        for key, p in layer.params.items():
            expect(p.dtype == dtype, f"weight {key!r} in {name}", p.dtype)
        Y = np.asarray(layer.forward(_inputs(s, layer, 2, dtype), training=True))
        expect(Y.dtype == dtype, f"forward of {name} input to give {name}", Y.dtype)
        dX = np.asarray(layer.backward(s.rng.normal(size=Y.shape).astype(dtype)))
        expect(dX.dtype == dtype, f"backward to give a {name} input gradient", dX.dtype)
        for key, g in layer.grads.items():
            expect(g.dtype == dtype, f"the gradient of {key!r} in {name}", g.dtype)


@check("layer")
def layer_does_not_modify_input(s: Subject) -> None:
    """``forward`` leaves ``X`` unchanged and ``backward`` leaves its ``grad_out`` unchanged."""
    layer = s.make_layer()
    X = _inputs(s, layer, 3)
    X0 = X.copy()
    Y = np.asarray(layer.forward(X, training=True))
    expect(np.array_equal(X, X0), "forward to leave its input unchanged", lambda: f"X changed ({max_difference(X, X0)})")
    G = s.rng.normal(size=Y.shape)
    G0 = G.copy()
    layer.backward(G)
    expect(np.array_equal(G, G0), "backward to leave grad_out unchanged", lambda: f"grad_out changed ({max_difference(G, G0)})")
    expect(np.array_equal(X, X0), "backward to leave the forward input unchanged", lambda: f"X changed ({max_difference(X, X0)})")
