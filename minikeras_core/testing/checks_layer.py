"""Checks of the Layer contract: inputs left alone, shapes, weights, independence of samples, config, dtype.

Every layer is built from a conformance case (which includes ``input_size``) with
``build(None, dtype=..., rng=...)``, its weights then moved off their initial values
(:func:`~minikeras_core.testing._base.randomize_weights`), and fed standard normal inputs of
shape ``(batch, *input_size)``. The gradient checks are in :mod:`.checks_layer_grads`.
"""

from __future__ import annotations

import numpy as np

from ..engine.setup import StepSetup
from ..registry import get
from ._base import NotApplicable, Subject, check, expect, expect_value_error
from ._configs import check_config
from ._numerics import arrays_close, max_difference


def inputs(s: Subject, layer, batch: int, dtype=np.float64) -> np.ndarray:
    """Inputs of shape ``(batch, *layer.input_shape)``: standard normal, or what the layer declares it takes.

    A layer whose inputs are not any real numbers (Embedding's integer ids) declares a classmethod
    ``conformance_inputs(rng, shape)`` returning valid inputs of ``shape``; every check then uses them.
    """
    shape = (batch,) + tuple(layer.input_shape)
    declared = getattr(type(layer), "conformance_inputs", None)
    if callable(declared):
        return np.asarray(declared(s.rng, shape)).astype(dtype)
    return s.rng.normal(size=shape).astype(dtype)


def differentiable_inputs(layer) -> bool:
    """Whether the layer's inputs are real numbers one can differentiate by (not ids: ``conformance_inputs`` of whole numbers)."""
    declared = getattr(type(layer), "conformance_inputs", None)
    if not callable(declared):
        return True
    sample = np.asarray(declared(np.random.default_rng(0), (4,) + tuple(layer.input_shape)), dtype=np.float64)
    return not np.all(sample == np.round(sample))


@check("layer")
def layer_does_not_modify_input(s: Subject) -> None:
    """``forward`` leaves ``X`` unchanged and ``backward`` leaves its ``grad_out`` unchanged.

    It runs first: a layer writing into its input fails here, by name, and the other checks
    hand it copies so that it fails nothing else for it.
    """
    layer = s.make_layer()
    X = inputs(s, layer, 3)
    X0 = X.copy()
    Y = np.asarray(layer.forward(X, training=True))
    expect(np.array_equal(X, X0), "forward(X) to leave the caller's X unchanged (write into a new array, not into X)",
           lambda: f"X changed ({max_difference(X, X0)})")
    G = s.rng.normal(size=Y.shape)
    G0 = G.copy()
    layer.backward(G)
    expect(np.array_equal(G, G0), "backward(grad_out) to leave the caller's grad_out unchanged (no in-place *=, +=)",
           lambda: f"grad_out changed ({max_difference(G, G0)})")
    expect(np.array_equal(X, X0), "backward to leave the forward input X unchanged", lambda: f"X changed ({max_difference(X, X0)})")


@check("layer")
def layer_output_shape_matches_forward(s: Subject) -> None:
    """``output_shape`` (and ``compute_output_shape``) equal the shape ``forward`` returns, for batches of 1 and 3."""
    layer = s.make_layer()
    expect(tuple(layer.output_shape) == tuple(layer.compute_output_shape(layer.input_shape)),
           f"output_shape equal to compute_output_shape({layer.input_shape})",
           lambda: f"{layer.output_shape} and {layer.compute_output_shape(layer.input_shape)}")
    for batch in (1, 3):
        Y = np.asarray(layer.forward(inputs(s, layer, batch)))
        expected = (batch,) + tuple(layer.output_shape)
        expect(Y.shape == expected, f"forward of a batch of {batch} to have shape {expected} (batch, *output_shape)",
               f"shape {Y.shape}")


@check("layer")
def layer_param_count_matches_weights(s: Subject) -> None:
    """``count_params()`` equals the sizes of ``get_weights()``; ``grads`` holds the trainable weights' names, in ``params``'s order, with their shapes and dtypes."""
    layer = s.make_layer()
    weights = layer.get_weights()
    total = int(sum(np.asarray(w).size for w in weights))
    expect(layer.count_params() == total, f"count_params() == {total}, the total size of get_weights()", layer.count_params())
    expect(len(weights) == len(layer.params), f"get_weights() to return one array per weight ({len(layer.params)})",
           f"{len(weights)} arrays")
    trainable = [name for name in layer.params if name in layer.grads]
    expect(list(layer.grads) == trainable, f"grads named after weights of params, in their order {list(layer.params)}",
           list(layer.grads))
    trainable_total = int(sum(layer.params[name].size for name in trainable))
    expect(layer.count_trainable_params() == trainable_total, f"count_trainable_params() == {trainable_total}",
           layer.count_trainable_params())
    for name in trainable:
        param, grad = layer.params[name], layer.grads[name]
        expect(grad.shape == param.shape and grad.dtype == param.dtype,
               f"grads[{name!r}] of params[{name!r}]'s shape {param.shape} and dtype {param.dtype}",
               f"{grad.shape} {grad.dtype}")


@check("layer")
def layer_non_trainable_weights_are_left_to_the_layer(s: Subject) -> None:
    """Weights without a gradient (``add_weight(..., trainable=False)``) are never handed to an optimizer, and ``forward(X, training=False)`` changes no weight at all.

    The layer may update its non-trainable weights itself while training (moving statistics).
    """
    layer = s.make_layer()
    if not layer.params:
        raise NotApplicable("no weights")
    before = {name: p.copy() for name, p in layer.params.items()}
    layer.forward(inputs(s, layer, 3), training=False)
    for name, value in before.items():
        expect(np.array_equal(layer.params[name], value, equal_nan=True), f"forward(X, training=False) to leave weight {name!r} unchanged",
               lambda name=name, value=value: max_difference(layer.params[name], value))
    frozen = [name for name in layer.params if name not in layer.grads]
    for optimizer in (get("optimizer", "sgd"), get("optimizer", "adagrad", clipnorm=1.0)):  # a flat buffer, and one array per weight
        setup = StepSetup([layer], optimizer)
        for name in frozen:
            expect(not any(np.shares_memory(p, layer.params[name]) for p in setup.params),
                   f"the non-trainable weight {name!r} kept from what {type(optimizer).__name__} updates", "it is among them")
        for grad in setup.grads:
            grad[...] = 1.0
        kept = {name: layer.params[name].copy() for name in frozen}
        optimizer.apply(setup.params, setup.grads)
        for name, value in kept.items():
            expect(np.array_equal(layer.params[name], value), f"an optimizer step to leave the non-trainable weight {name!r} unchanged",
                   lambda name=name, value=value: max_difference(layer.params[name], value))


@check("layer")
def layer_samples_are_independent(s: Subject) -> None:
    """A batch gives the same rows as its halves run one after the other: no mixing across samples."""
    layer = s.make_layer()
    X = inputs(s, layer, 4)
    whole = np.asarray(layer.forward(X.copy()))
    halves = np.concatenate([np.asarray(layer.forward(X[:2].copy())), np.asarray(layer.forward(X[2:].copy()))])
    expect(arrays_close(whole, halves, rtol=1e-9, atol=1e-12),
           "forward(X) of 4 samples to equal forward of its two halves, stacked",
           lambda: max_difference(whole, halves))


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
    X = inputs(s, first, 3)
    y1, y2 = np.asarray(first.forward(X.copy())), np.asarray(second.forward(X.copy()))
    expect(arrays_close(y1, y2), "the same output from a layer given the same weights", lambda: max_difference(y1, y2))
    for w in weights:
        w[...] = 123.0
    for index, p in enumerate(first.params.values()):
        expect(not np.any(p == 123.0) or p.size == 0, f"get_weights to return copies (weight {index})",
               "writing to the returned array changed the layer")


def _layer_works(s: Subject) -> None:
    layer = s.make_layer()
    layer.forward(inputs(s, layer, 2))


@check("layer")
def layer_config_rebuilds_same_layer(s: Subject) -> None:
    """``from_config`` of a JSON round trip of ``get_config()`` rebuilds a layer with the same config, and the same output given the same weights.

    ``get_config()`` records every constructor argument, defaults included. Run on the case and
    again with every defaulted argument at another value that works (see :mod:`._configs`).
    """

    def same(first, second) -> None:
        second.build(first.input_shape, dtype=np.float64, rng=np.random.default_rng(1))
        expect(tuple(second.output_shape) == tuple(first.output_shape), f"the rebuilt layer's output_shape {first.output_shape}",
               second.output_shape)
        second.set_weights(first.get_weights())
        X = inputs(s, first, 3)
        y1, y2 = np.asarray(first.forward(X.copy())), np.asarray(second.forward(X.copy()))
        expect(arrays_close(y1, y2), "the same output from the rebuilt layer with the same weights", lambda: max_difference(y1, y2))

    check_config(s, lambda subject: subject.make_layer(seed=0), same, _layer_works)


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
        Y = np.asarray(layer.forward(inputs(s, layer, 2, dtype), training=True))
        expect(Y.dtype == dtype, f"forward of {name} input to give {name}", Y.dtype)
        dX = np.asarray(layer.backward(s.rng.normal(size=Y.shape).astype(dtype)))
        expect(dX.dtype == dtype, f"backward to give a {name} input gradient", dX.dtype)
        for key, g in layer.grads.items():
            expect(g.dtype == dtype, f"the gradient of {key!r} in {name}", g.dtype)
