"""minikeras_core.numeric: numpy's functions, the same numbers by another route."""

import numpy as np
import pytest

from minikeras_core.numeric import maximum


def _values(size: int, dtype: str, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).normal(size=size).astype(dtype)
    X[:: max(1, size // 7)] = np.nan
    X[1 :: max(1, size // 5)] = -np.inf
    X[2 :: max(1, size // 3)] = np.inf
    return X


@pytest.mark.parametrize("size", [5, 16383, 16384, 65536, 70001])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [0, -0.5, 1.25])
def test_maximum_equals_numpy_s_with_nan_and_infinities(size, dtype, value):
    X = _values(size, dtype)
    expected = np.maximum(X, value)
    got = maximum(X, value)
    assert got.dtype == X.dtype
    np.testing.assert_array_equal(got, expected)  # NaN where numpy has NaN


def test_maximum_in_place_and_on_other_layouts():
    X = _values(3 * 2**15 + 11, "float32").reshape(-1, 1)
    expected = np.maximum(X, 0)
    Y = X.copy()
    assert maximum(Y, 0, out=Y) is Y
    np.testing.assert_array_equal(Y, expected)
    strided = _values(2**17, "float32")[::2]  # not contiguous: numpy's own route
    np.testing.assert_array_equal(maximum(strided, 0), np.maximum(strided, 0))
    ints = np.arange(-40000, 40000)
    np.testing.assert_array_equal(maximum(ints, 3), np.maximum(ints, 3))
    F = np.asfortranarray(_values(2**16, "float64").reshape(256, 256))
    np.testing.assert_array_equal(maximum(F, 0), np.maximum(F, 0))
