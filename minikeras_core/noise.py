"""Counter-based random numbers for layers that are random while training (Dropout, recurrent dropout).

Numbers are drawn from a Philox generator keyed by ``(key, index)``, the step's key and the
layer's place in the model, starting at the counter of the part's first row: so the rows of a
part get exactly the numbers they would get in the whole batch, however the batch is cut into
parts on threads, and a seeded fit run twice draws the same numbers.
"""

from __future__ import annotations

import math

import numpy as np


def uniform(shape: tuple, key: int, index: int = 0, first_row: int = 0, seed: int | None = None) -> np.ndarray:
    """Uniform numbers in ``[0, 1)`` of ``shape`` (rows first): rows ``first_row ..`` of the stream ``(key ^ seed, index)``."""
    per_row = math.prod(shape[1:])
    start = first_row * per_row
    generator = np.random.Philox(key=np.array([key ^ (seed or 0), index], dtype=np.uint64))
    generator.advance(start // 4)  # one Philox counter step makes 4 draws: go to the part's first row
    return np.random.Generator(generator).random(start % 4 + shape[0] * per_row)[start % 4 :].reshape(shape)
