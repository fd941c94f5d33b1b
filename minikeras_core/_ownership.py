"""When the core may overwrite a layer's output in place: the test behind in-place activations (see ``Layer._activate``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

#: Outputs with fewer values are not overwritten in place: there the test below (tens of microseconds on a layer
#: with many attributes, measured 18-26 us a call inside fit) costs more than the pass and the memory in place saves.
#: Either way the numbers are the same; the conformance checks lower it to 0 (``in_place_at_any_size``).
MIN_IN_PLACE_SIZE = 1 << 16

#: Types of attribute values that cannot hold an array: skipped without a closer look.
_PLAIN = frozenset({int, float, bool, str, type(None)})


def owns_output(layer: object, X: np.ndarray, Z: np.ndarray) -> bool:
    """Whether ``Z``, ``layer.call``'s output for ``X``, is a fresh array nothing else refers to, so it may be overwritten.

    It must be writeable and share no memory with ``X`` or any array the layer holds in an attribute (directly or
    in a dict, list or tuple there): its weights, its gradients, what it keeps for backward.
    """
    if not isinstance(Z, np.ndarray) or not Z.flags.writeable or np.may_share_memory(Z, X):
        return False
    # This runs at every forward, and a layer holds dozens of attributes, mostly numbers and tuples of
    # them: the loop skips those by their exact type before asking anything costlier.
    for name, value in vars(layer).items():
        kind = type(value)
        if kind in _PLAIN or name == "_init_arguments":  # the core's record of arguments: a layer keeps its own copy
            continue
        if kind is tuple or kind is list or kind is dict or isinstance(value, (tuple, list, dict)):
            for item in value.values() if isinstance(value, dict) else value:
                if type(item) not in _PLAIN and isinstance(item, np.ndarray) and np.may_share_memory(item, Z):
                    return False
        elif isinstance(value, np.ndarray) and np.may_share_memory(value, Z):
            return False
    return True


@contextlib.contextmanager
def in_place_at_any_size() -> Iterator[None]:
    """Within it, outputs of any size may be overwritten in place: how the checks exercise that path on small inputs."""
    global MIN_IN_PLACE_SIZE
    saved, MIN_IN_PLACE_SIZE = MIN_IN_PLACE_SIZE, 0
    try:
        yield
    finally:
        MIN_IN_PLACE_SIZE = saved
