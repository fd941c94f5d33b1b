"""The Mini-Keras conformance suite on every plugin this distribution registers: one line."""

from minikeras_core.testing import conformance_tests

test_conformance = conformance_tests(dist="minikeras-leaky-relu")
