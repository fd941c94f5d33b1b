"""Small data sets shipped inside the package, so examples and tests need no network.

``digits.csv.gz`` is the test part of the UCI "Optical Recognition of Handwritten Digits" data set
(E. Alpaydin and C. Kaynak, 1998; UCI Machine Learning Repository, CC BY 4.0), as scikit-learn
distributes it (BSD-3-Clause): one row per image, 64 pixel counts from 0 to 16, then the label.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np


def load_digits(n_class: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)``: 8x8 digit images ``(n, 8, 8)`` with values 0..16 and integer labels ``(n,)``.

    Only the classes below ``n_class`` are kept (``n_class=10``: 1,797 images; ``n_class=2``: 360).
    """
    if isinstance(n_class, bool) or not isinstance(n_class, (int, np.integer)) or not 1 <= n_class <= 10:
        raise ValueError(f"load_digits: n_class must be an integer from 1 to 10, got {n_class!r}")
    with resources.files(__package__).joinpath("data/digits.csv.gz").open("rb") as raw:
        with gzip.open(raw, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.float64)
    X = table[:, :-1].reshape(-1, 8, 8)
    y = table[:, -1].astype(np.int64)
    keep = y < n_class
    return X[keep], y[keep]
