"""Checks of a layer's backward pass: gradients, the ``need_input_grad`` declaration, and replicas.

Gradients are checked in float64 against central differences of ``sum(G * forward(X))`` on a
random projection ``G`` of the output; large arrays are probed at a random subset of entries.
Every call gets copies of ``X`` and ``G``, so a layer writing into its inputs fails only
``layer_does_not_modify_input``.

For a layer that takes an ``activation`` and has none in a case, the gradient checks also run
on that case with ``activation="tanh"``, whose derivative comes from its output: the core then
overwrites ``call``'s output ``Z`` with ``tanh(Z)`` when ``Z`` looks like the layer's own (no
attribute of the layer refers to it). A layer that uses ``Z`` in ``call_backward`` and hides it
where the core cannot see it (inside another object) gets wrong gradients there, and fails.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import numpy as np

from ._base import Mismatch, NotApplicable, Subject, check, expect
from ._numerics import arrays_close, compare_gradients, finite_difference, max_difference, probe_indices
from .checks_layer import differentiable_inputs, inputs

#: What the gradient checks add to a case without activation, and how a failure then reads.
_IN_PLACE_ACTIVATION = "tanh"
_IN_PLACE_LABEL = (f" (with activation={_IN_PLACE_ACTIVATION!r} added, which the core applies in place on call's output "
                   "Z unless an attribute of the layer refers to Z: keep Z, if call_backward needs it, in an attribute)")


def _takes_activation(cls: type) -> bool:
    try:
        parameters = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "activation" or p.kind is p.VAR_KEYWORD for p in parameters)


def _variants(s: Subject) -> Iterator[tuple]:
    """``(layer, label)``: the case's layer, then the same with an in-place activation where that applies."""
    yield s.make_layer(), ""
    if s.kwargs.get("activation") is not None or not _takes_activation(s.cls):
        return
    try:
        layer = s.make_layer(activation=_IN_PLACE_ACTIVATION)
    except Exception:  # noqa: BLE001 - its **kwargs do not take an activation after all
        return
    if layer.activation is not None:
        yield layer, _IN_PLACE_LABEL


def _labelled(label: str, err: Mismatch) -> Mismatch:
    return Mismatch(err.expected + label, err.found)


def _objective(layer, X: np.ndarray, G: np.ndarray):
    return lambda: float(np.sum(G * layer.forward(X.copy(), training=True)))


@check("layer")
def layer_grad_input_matches_finite_differences(s: Subject) -> None:
    """``backward(G)`` after ``forward(X, training=True)`` is the gradient of ``sum(G * forward(X))`` with respect to ``X``."""
    for layer, label in _variants(s):
        if not differentiable_inputs(layer):
            raise NotApplicable("inputs are ids (conformance_inputs gives whole numbers): no gradient with respect to them")
        X = inputs(s, layer, 2)
        Y = np.asarray(layer.forward(X.copy(), training=True))
        G = s.rng.normal(size=Y.shape)
        dX = np.asarray(layer.backward(G.copy()), dtype=np.float64)
        try:
            expect(dX.shape == X.shape, f"backward to return dL/dX of the input's shape {X.shape}", f"shape {dX.shape}")
            numeric = {i: finite_difference(_objective(layer, X, G), X, i) for i in probe_indices(X.shape, s.rng)}
            compare_gradients("backward's input gradient dL/dX", {i: dX[i] for i in numeric}, numeric)
        except Mismatch as err:
            raise _labelled(label, err) from None


@check("layer")
def layer_param_grads_match_finite_differences(s: Subject) -> None:
    """Each ``grads[name]`` written by ``backward`` is the gradient of ``sum(G * forward(X))`` with respect to ``params[name]``."""
    for layer, label in _variants(s):
        if not layer.grads:
            raise NotApplicable("no trainable weights" if layer.params else "no weights")
        X = inputs(s, layer, 2)
        Y = np.asarray(layer.forward(X.copy(), training=True))
        G = s.rng.normal(size=Y.shape)
        for grad in layer.grads.values():
            grad[...] = np.nan  # a gradient backward forgets to write shows up as NaN
        layer.backward(G.copy())
        grads = {name: np.array(g, dtype=np.float64) for name, g in layer.grads.items()}
        try:
            for name, param in ((name, layer.params[name]) for name in layer.grads):
                expect(name in grads and grads[name].shape == param.shape, f"grads[{name!r}] of shape {param.shape}",
                       lambda n=name, grads=grads: f"{grads[n].shape if n in grads else 'no such gradient'}")
                numeric = {i: finite_difference(_objective(layer, X, G), param, i) for i in probe_indices(param.shape, s.rng)}
                compare_gradients(f"the gradient of weight {name!r}", {i: grads[name][i] for i in numeric}, numeric)
        except Mismatch as err:
            raise _labelled(label, err) from None


@check("layer")
def layer_backward_without_input_grad_keeps_weight_grads(s: Subject) -> None:
    """A layer whose ``call_backward`` accepts ``need_input_grad``: ``backward(G, need_input_grad=False)`` returns ``None`` and writes exactly the weight gradients of ``backward(G)``.

    The model's first layer gets ``need_input_grad=False``; a layer may then skip ``dL/dX``,
    but never a weight gradient it computes along the way.
    """
    if "need_input_grad" not in inspect.signature(s.cls.call_backward).parameters:
        raise NotApplicable("call_backward takes no need_input_grad")
    for layer, label in _variants(s):
        X = inputs(s, layer, 2)
        G = s.rng.normal(size=(2,) + tuple(layer.output_shape))
        written = []
        for need in (True, False):
            layer.forward(X.copy(), training=True)
            for grad in layer.grads.values():
                grad[...] = np.nan  # not written shows as NaN
            out = layer.backward(G.copy(), need_input_grad=need)
            written.append({name: g.copy() for name, g in layer.grads.items()})
        expect(out is None, f"backward(G, need_input_grad=False) to return None{label}", f"a {type(out).__name__}")
        for name, full in written[0].items():
            got = written[1][name]
            expect(arrays_close(got, full),
                   f"grads[{name!r}] after backward(G, need_input_grad=False) to equal that of backward(G){label}",
                   lambda got=got, full=full: max_difference(got, full) + (" (NaN: not written)" if np.isnan(got).any() else ""))


@check("layer")
def layer_replica_trains_independently(s: Subject) -> None:
    """``replica()`` shares ``params`` and has its own ``grads``; a part trained on it interleaved with another on the layer gives each part's own outputs and gradients.

    ``fit`` trains parts of a batch at once on threads, one through the layer and the others
    through replicas. A layer with ``parallel_training = False`` is never replicated: skipped.
    """
    layer = s.make_layer()
    if not getattr(layer, "parallel_training", True):
        raise NotApplicable("parallel_training = False")
    parts = [inputs(s, layer, 2), inputs(s, layer, 3)]
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
    for name, grad in layer.grads.items():
        expect(replica.grads.get(name) is not grad, f"the replica's grads[{name!r}] to be an array of its own",
               "the layer's array")
    shared = "the layer keeps state shared with its replicas"
    try:  # both forward passes before either backward, the replica's backward first: caches must not be shared
        first = np.array(layer.forward(parts[0].copy(), training=True))
        second = np.array(replica.forward(parts[1].copy(), training=True))
        dX_second = np.array(replica.backward(upstream[1].copy()))
        dX_first = np.array(layer.backward(upstream[0].copy()))
    except Exception as err:
        raise Mismatch("parts of 2 and 3 samples trained interleaved on the layer and a replica to run as each does alone",
                       f"{shared} ({type(err).__name__}: {err}); keep caches in attributes of the layer, "
                       "or set parallel_training = False") from err
    for part, instance, Y, dX, (Y_alone, dX_alone, grads_alone) in (
        ("the layer's part", layer, first, dX_first, alone[0]),
        ("the replica's part", replica, second, dX_second, alone[1]),
    ):
        expect(arrays_close(Y, Y_alone), f"{part}: forward to equal the part's forward on its own",
               lambda Y=Y, Y_alone=Y_alone: f"{shared}: {max_difference(Y, Y_alone)}")
        expect(arrays_close(dX, dX_alone), f"{part}: backward's dL/dX to equal the part's on its own",
               lambda dX=dX, dX_alone=dX_alone: f"{shared}: {max_difference(dX, dX_alone)}")
        for name, grad in grads_alone.items():
            expect(arrays_close(instance.grads[name], grad), f"{part}: grads[{name!r}] to equal the part's on its own",
                   lambda name=name, instance=instance, grad=grad: f"{shared}: {max_difference(instance.grads[name], grad)}")
