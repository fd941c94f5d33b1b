"""The conformance suite has teeth: each deliberately broken plugin is caught by the right check.

Each broken plugin differs from a correct one by one bug; the test asserts the exact set of checks
that fail (so a bug is caught by the check named for it, and nothing else fails by accident), that
each failure's message names the check, the plugin and what was expected and found, and that the
correct versions pass everything.
"""

import numpy as np
import pytest

from minikeras_core import Activation, ElementwiseActivation, Layer, Loss, Metric, Optimizer, register
from minikeras_core.cli import main
from minikeras_core.registry import REGISTRY, is_registered_as
from minikeras_core.testing import (
    FAILED,
    PASSED,
    SKIPPED,
    XFAILED,
    XPASSED,
    check_names,
    check_plugin,
    format_report,
    run_checks,
)
from minikeras_core.testing.pytest_plugin import ConformanceCheck

# -- correct plugins, the bases of the broken ones ---------------------------------------------


class GoodSigmoid(ElementwiseActivation):
    def eval(self, X):
        e = np.exp(-np.abs(X))
        return np.where(X >= 0, 1, e) / (1 + e)

    def derivative(self, X, Y):
        return Y * (1 - Y)


class OutputOnlySigmoid(GoodSigmoid):
    derivative_uses_input = False


class GoodDense(Layer):
    """``X @ kernel + bias``, written independently of the built-in."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    @classmethod
    def conformance_cases(cls):
        return [{"units": 3, "input_size": (4,)}]

    def compute_output_shape(self, input_shape):
        return input_shape[:-1] + (self.units,)

    def create_weights(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units))
        self.add_weight("bias", (self.units,), "he_normal")

    def call(self, X, training=False):
        self._X = X
        return X @ self.params["kernel"] + self.params["bias"]

    def call_backward(self, grad):
        self.grads["kernel"][...] = self._X.T @ grad
        self.grads["bias"][...] = grad.sum(axis=0)
        return grad @ self.params["kernel"].T


class GoodScale(Layer):
    """``X * scale`` per feature: with no shape check it would broadcast a feature axis of 1."""

    @classmethod
    def conformance_cases(cls):
        return [{"input_size": (4,)}]

    def compute_output_shape(self, input_shape):
        return input_shape

    def create_weights(self, input_shape):
        self.add_weight("scale", input_shape[-1:], "he_normal")

    def call(self, X, training=False):
        self._X = X
        return X * self.params["scale"]

    def call_backward(self, grad):
        self.grads["scale"][...] = np.sum(grad * self._X, axis=0)
        return grad * self.params["scale"]


class GoodRunningMean(GoodScale):
    """``X * scale``, keeping the running mean of its training inputs as a non-trainable weight (as BatchNormalization)."""

    def create_weights(self, input_shape):
        super().create_weights(input_shape)
        self.add_weight("moving_mean", input_shape[-1:], "zeros", trainable=False)

    def call(self, X, training=False):
        if training:
            self.params["moving_mean"][...] = 0.9 * self.params["moving_mean"] + 0.1 * X.mean(axis=0)
        return super().call(X, training)


class GoodConv2D(Layer):
    """A "valid" 2-D convolution, stride 1: the checks must handle image inputs ``(n, h, w, c)``."""

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, tuple(kernel_size)

    @classmethod
    def conformance_cases(cls):
        return [{"filters": 2, "kernel_size": (2, 3), "input_size": (4, 5, 2)}]

    def compute_output_shape(self, input_shape):
        h, w, _ = input_shape
        return (h - self.kernel_size[0] + 1, w - self.kernel_size[1] + 1, self.filters)

    def create_weights(self, input_shape):
        self.add_weight("kernel", self.kernel_size + (input_shape[-1], self.filters))
        self.add_weight("bias", (self.filters,), "he_normal")

    def call(self, X, training=False):
        self._X = X
        kh, kw = self.kernel_size
        oh, ow = X.shape[1] - kh + 1, X.shape[2] - kw + 1
        Z = np.zeros((len(X), oh, ow, self.filters), dtype=X.dtype) + self.params["bias"]
        for a in range(kh):  # a loop over kernel offsets, not over pixels
            for b in range(kw):
                Z += X[:, a:a + oh, b:b + ow, :] @ self.params["kernel"][a, b]
        return Z

    def call_backward(self, grad):
        X, (kh, kw) = self._X, self.kernel_size
        oh, ow = grad.shape[1], grad.shape[2]
        dX = np.zeros_like(X)
        G = grad.reshape(-1, self.filters)
        for a in range(kh):
            for b in range(kw):
                patch = X[:, a:a + oh, b:b + ow, :]
                self.grads["kernel"][a, b] = patch.reshape(-1, X.shape[-1]).T @ G
                dX[:, a:a + oh, b:b + ow, :] += grad @ self.params["kernel"][a, b].T
        self.grads["bias"][...] = G.sum(axis=0)
        return dX


class GoodMaxPool2D(Layer):
    """2 x 2 max pooling, stride 2, no weights and no required arguments."""

    @classmethod
    def conformance_cases(cls):
        return [{"input_size": (4, 6, 3)}]

    def compute_output_shape(self, input_shape):
        h, w, c = input_shape
        return (h // 2, w // 2, c)

    def call(self, X, training=False):
        n, h, w, c = X.shape
        blocks = X[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c)
        Y = blocks.max(axis=(2, 4))
        self._mask = blocks == Y[:, :, None, :, None, :]
        return Y

    def call_backward(self, grad):
        n, h, w, c = (len(grad),) + self.input_shape
        dX = np.zeros((n, h, w, c), dtype=grad.dtype)
        spread = self._mask * grad[:, :, None, :, None, :]
        dX[:, : h // 2 * 2, : w // 2 * 2] = spread.reshape(n, h // 2 * 2, w // 2 * 2, c)
        return dX


class GoodSquaredError(Loss):
    @classmethod
    def hand_computed_case(cls):
        return np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]), 0.5  # (1 + 0) / 2

    def per_sample(self, y_pred, y_true):
        return np.mean((y_pred - y_true) ** 2, axis=-1)

    def per_sample_grad(self, y_pred, y_true):
        return 2 * (y_pred - y_true) / y_pred.shape[-1]


class GoodSGD(Optimizer):
    elementwise = True

    def update(self, param, grad, state):
        param -= self.learning_rate * grad


class GoodAdam(Optimizer):
    """Keras's Adam at its default rate 0.001: the convergence check must suit small rates too."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def create_state(self, param):
        return {"m": np.zeros_like(param), "v": np.zeros_like(param)}

    def update(self, param, grad, state):
        t = self.iterations
        state["m"] += (1 - self.beta_1) * (grad - state["m"])
        state["v"] += (1 - self.beta_2) * (grad * grad - state["v"])
        rate = self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        param -= (rate * state["m"] / (np.sqrt(state["v"]) + self.epsilon)).astype(param.dtype)


class GoodTopOneAccuracy(Metric):
    """Per sample 1 when the argmax is the true class, written independently of the built-in."""

    @classmethod
    def hand_computed_case(cls):
        return [[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]], [[1, 0], [1, 0], [0, 1]], 1 / 3

    def per_sample(self, y_pred, y_true):
        return (np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)).astype(np.float64)


class FromOutputSigmoid(GoodSigmoid):
    """Declares its derivative from the output, the new way: overriding derivative_from_output."""

    def derivative_from_output(self, Y):
        return Y * (1 - Y)


class GoodSoftmax(Activation):
    """Not element-wise: the checks of element-wise speed-ups do not apply to it."""

    def eval(self, X):
        e = np.exp(X - X.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def grad_input(self, X):
        Y = self.eval(X)  # J[b, i, j] = Y_i (delta_ij - Y_j)
        return Y[..., :, None] * (np.eye(X.shape[-1], dtype=X.dtype) - Y[..., None, :])


class GoodLeakyReLU(ElementwiseActivation):
    """An activation with a constructor argument, for the config check's non-default variant."""

    def __init__(self, negative_slope=0.3):
        self.negative_slope = negative_slope

    def eval(self, X):
        return np.where(X >= 0, X, self.negative_slope * X)

    def derivative(self, X, Y):
        return np.where(X > 0, 1.0, self.negative_slope).astype(X.dtype)


class GoodLayerNorm(Layer):
    """Each sample's features normalised, then scaled by ``gamma`` (initialised to ones) and shifted by ``beta`` (zeros).

    ``xhat = (X - mean) / sqrt(var + eps)``, ``Z = gamma * xhat + beta``; with ``D = G * gamma``,
    ``dX = (D - mean(D) - xhat * mean(D * xhat)) / sqrt(var + eps)``.
    """

    @classmethod
    def conformance_cases(cls):
        return [{"input_size": (5,)}, {"input_size": (2, 4)}]

    def compute_output_shape(self, input_shape):
        return input_shape

    def create_weights(self, input_shape):
        self.add_weight("gamma", input_shape[-1:], "ones")
        self.add_weight("beta", input_shape[-1:], "zeros")

    def call(self, X, training=False):
        self._inv = 1 / np.sqrt(X.var(axis=-1, keepdims=True) + 1e-3)
        self._xhat = (X - X.mean(axis=-1, keepdims=True)) * self._inv
        return self._xhat * self.params["gamma"] + self.params["beta"]

    def _weight_grads(self, grad):
        axes = tuple(range(grad.ndim - 1))
        self.grads["gamma"][...] = np.sum(grad * self._xhat, axis=axes)
        self.grads["beta"][...] = np.sum(grad, axis=axes)

    def _input_grad(self, D):
        return self._inv * (D - D.mean(axis=-1, keepdims=True) - self._xhat * np.mean(D * self._xhat, axis=-1, keepdims=True))

    def call_backward(self, grad):
        self._weight_grads(grad)
        return self._input_grad(grad * self.params["gamma"])


class GoodDenseSkipsInputGrad(GoodDense):
    """Declares need_input_grad: skips dL/dX (only) when the caller does not need it."""

    def call_backward(self, grad, need_input_grad=True):
        self.grads["kernel"][...] = self._X.T @ grad
        self.grads["bias"][...] = grad.sum(axis=0)
        return grad @ self.params["kernel"].T if need_input_grad else None


class GoodExpScale(Layer):
    """``Z = exp(X * w)``, ``w`` per feature; backward reuses ``Z``: ``dX = G Z w``, ``dw = sum(G Z X)``.

    It keeps ``Z`` in an attribute of its own, where the core sees it and so never applies the
    activation in place over it.
    """

    @classmethod
    def conformance_cases(cls):
        return [{"input_size": (4,)}]

    def compute_output_shape(self, input_shape):
        return input_shape

    def create_weights(self, input_shape):
        self.add_weight("w", input_shape[-1:], "he_normal")

    def call(self, X, training=False):
        Z = np.exp(X * self.params["w"])
        if training:
            self._X, self._Z_kept = X, Z
        return Z

    def _kept_Z(self):
        return self._Z_kept

    def call_backward(self, grad):
        GZ = grad * self._kept_Z()
        self.grads["w"][...] = np.sum(GZ * self._X, axis=0)
        return GZ * self.params["w"]


class GoodMomentum(Optimizer):
    """Gradient descent with momentum, an optimizer argument beside the learning rate."""

    def __init__(self, learning_rate=0.01, momentum=0.0):
        super().__init__(learning_rate)
        self.momentum = momentum

    @classmethod
    def conformance_cases(cls):
        return [{"learning_rate": 0.1}]

    def create_state(self, param):
        return {"velocity": np.zeros_like(param)}

    def update(self, param, grad, state):
        state["velocity"] *= self.momentum
        state["velocity"] -= self.learning_rate * grad
        param += state["velocity"]


class GoodScaledSquaredError(GoodSquaredError):
    """``scale * mean((y_pred - y_true)^2)``: a loss with a constructor argument."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def per_sample(self, y_pred, y_true):
        return self.scale * super().per_sample(y_pred, y_true)

    def per_sample_grad(self, y_pred, y_true):
        return self.scale * super().per_sample_grad(y_pred, y_true)


class GoodBinaryCrossEntropy(Loss):
    """Clipped binary cross-entropy, fused with the sigmoid: ``dL/dZ = (p - y) / size``."""

    @classmethod
    def hand_computed_case(cls):
        return np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]), np.log(2.0)

    def per_sample(self, y_pred, y_true):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        return -np.mean(y_true * np.log(p) + (1 - y_true) * np.log1p(-p), axis=-1)

    def per_sample_grad(self, y_pred, y_true):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        return np.where(p == y_pred, (p - y_true) / (p * (1 - p)), 0) / y_pred.shape[-1]

    def fused_grad(self, activation, y_pred, y_true):
        if not is_registered_as(activation, "sigmoid"):
            return None
        return (y_pred - self.prepare_targets(y_pred, y_true)) / y_pred.size


class GoodThresholdAccuracy(Metric):
    """Per sample, the fraction of entries on the right side of ``threshold``."""

    def __init__(self, threshold=0.5, name=None):
        super().__init__(name)
        self.threshold = threshold

    @classmethod
    def hand_computed_case(cls):
        return [[0.6, 0.4], [0.3, 0.7]], [[1, 0], [1, 0]], 0.5  # sample 0 right twice, sample 1 wrong twice

    def per_sample(self, y_pred, y_true):
        return np.mean((y_pred > self.threshold) == (y_true > 0.5), axis=-1)


#: Each correct plugin with the checks that do not apply to it (reported SKIPPED with the reason, never PASSED).
GOOD = [
    ("activation", GoodSigmoid, {"activation_derivative_from_output_alone": "derivative_from_output not overridden"}),
    ("activation", OutputOnlySigmoid, {}),
    ("layer", GoodDense, {"layer_backward_without_input_grad_keeps_weight_grads": "call_backward takes no need_input_grad"}),
    ("layer", GoodScale, {"layer_backward_without_input_grad_keeps_weight_grads": "call_backward takes no need_input_grad"}),
    ("layer", GoodConv2D, {"layer_backward_without_input_grad_keeps_weight_grads": "call_backward takes no need_input_grad"}),
    ("layer", GoodMaxPool2D, {"layer_param_grads_match_finite_differences": "no weights",
                              "layer_non_trainable_weights_are_left_to_the_layer": "no weights",
                              "layer_backward_without_input_grad_keeps_weight_grads": "call_backward takes no need_input_grad"}),
    ("layer", GoodRunningMean, {"layer_backward_without_input_grad_keeps_weight_grads": "call_backward takes no need_input_grad"}),
    ("loss", GoodSquaredError, {"loss_fused_grad_matches_chain_rule": "fused_grad returns None for every installed activation"}),
    ("optimizer", GoodSGD, {}),
    ("optimizer", GoodAdam, {"optimizer_elementwise_update_matches_per_weight": "elementwise not declared"}),
    ("metric", GoodTopOneAccuracy, {}),
    ("activation", FromOutputSigmoid, {}),
    ("activation", GoodSoftmax, {"activation_eval_inplace_matches_eval": "not element-wise",
                                 "activation_derivative_from_output_alone": "not element-wise"}),
    ("activation", GoodLeakyReLU, {"activation_derivative_from_output_alone": "derivative_from_output not overridden"}),
    ("layer", GoodLayerNorm, {"layer_backward_without_input_grad_keeps_weight_grads": "call_backward takes no need_input_grad"}),
    ("layer", GoodDenseSkipsInputGrad, {}),
    ("layer", GoodExpScale, {"layer_backward_without_input_grad_keeps_weight_grads": "call_backward takes no need_input_grad"}),
    ("loss", GoodScaledSquaredError, {"loss_fused_grad_matches_chain_rule": "fused_grad returns None for every installed activation"}),
    ("loss", GoodBinaryCrossEntropy, {}),
    ("optimizer", GoodMomentum, {"optimizer_elementwise_update_matches_per_weight": "elementwise not declared"}),
    ("metric", GoodThresholdAccuracy, {}),
]

# -- broken activations ------------------------------------------------------------------------


class WrongDerivative(GoodSigmoid):
    def derivative(self, X, Y):
        return Y  # forgot the (1 - Y)


class BackwardDisagrees(GoodSigmoid):
    def backward(self, X, grad_out, Y=None):
        return 2 * grad_out * self.derivative(X, self.eval(X))  # the fast path drifted from grad_input


class FlatJacobian(GoodSigmoid):
    def grad_input(self, X):
        return self.derivative(X, self.eval(X))  # the diagonal only, (batch, n) instead of (batch, n, n)


class ModifiesInput(GoodSigmoid):
    def eval(self, X):
        X *= 1.0  # harmless value, but writes into the caller's array
        np.maximum(X, X, out=X)
        X += 0.0
        X[...] = np.where(X >= 0, 1, np.exp(-np.abs(X))) / (1 + np.exp(-np.abs(X)))
        return X


class UpcastsActivation(GoodSigmoid):
    def eval(self, X):
        return super().eval(X.astype(np.float64))  # float32 silently becomes float64


class ForgetsInplace(GoodSigmoid):
    def eval_inplace(self, Z):
        return self.eval(Z)  # a new array: Z keeps the pre-activations


class ClaimsOutputOnlyDerivative(ElementwiseActivation):
    """A softsign declaring that its derivative comes from Y, while it is written with X."""

    derivative_uses_input = False

    def eval(self, X):
        return X / (1 + np.abs(X))

    def derivative(self, X, Y):
        return 1 / (1 + np.abs(X)) ** 2


class NaiveSoftplus(ElementwiseActivation):
    def eval(self, X):
        return np.log(1 + np.exp(X))  # exp(1000) overflows to inf

    def derivative(self, X, Y):
        return 1 / (1 + np.exp(-X))


class NoisyActivation(GoodSigmoid):
    def eval(self, X):
        return super().eval(X) + np.random.default_rng().normal(scale=1e-3, size=X.shape).astype(X.dtype)


class ShapeLiarActivation(GoodSigmoid):
    def eval(self, X):
        return super().eval(X).reshape(len(X), -1)  # flattens 3-D inputs


# -- broken layers -----------------------------------------------------------------------------


class LyingOutputShape(GoodDense):
    def compute_output_shape(self, input_shape):
        return (self.units + 1,)  # forward gives units columns


class MixesSamples(GoodScale):
    """Centres over the batch, with a correct gradient for that: only the independence check can tell."""

    def call(self, X, training=False):
        self._X = X - X.mean(axis=0)
        return self._X * self.params["scale"]

    def call_backward(self, grad):
        self.grads["scale"][...] = np.sum(grad * self._X, axis=0)
        dX = grad * self.params["scale"]
        return dX - dX.mean(axis=0)


class ModifiesLayerInput(GoodScale):
    def call(self, X, training=False):
        X *= self.params["scale"]  # in place: the caller's X changes
        self._X = X / self.params["scale"]
        return X


class WrongKernelGrad(GoodDense):
    def call_backward(self, grad):
        dX = super().call_backward(grad)
        self.grads["kernel"][...] *= 2
        return dX


class WrongInputGrad(GoodDense):
    def call_backward(self, grad):
        return 0.5 * super().call_backward(grad)


class CachesInADict(GoodDense):
    """Keeps its input in a dict made in __init__: fine now, since a replica is a deep copy sharing only the weights."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.cache = {}

    def call(self, X, training=False):
        self.cache["X"] = X
        return X @ self.params["kernel"] + self.params["bias"]

    def call_backward(self, grad):
        self.grads["kernel"][...] = self.cache["X"].T @ grad
        self.grads["bias"][...] = grad.sum(axis=0)
        return grad @ self.params["kernel"].T


_MODULE_CACHE: dict = {}


class SharesCacheWithReplicas(CachesInADict):
    """Keeps its input in module state, which no copy of the layer can make its own."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.cache = _MODULE_CACHE

    def replica(self):
        clone = super().replica()
        clone.cache = _MODULE_CACHE
        return clone


class UpcastsLayer(GoodDense):
    def call(self, X, training=False):
        self._X = X
        return X @ self.params["kernel"].astype(np.float64) + self.params["bias"]


class Broadcasts(GoodScale):
    def check_input(self, X):
        pass  # no shape check: a feature axis of 1 broadcasts against the scale


class CountsWrong(GoodDense):
    def count_params(self):
        return self.params["kernel"].size  # forgets the bias


class ReplacesWeights(GoodDense):
    def set_weights(self, weights):
        for key, value in zip(self.params, weights):
            self.params[key] = np.array(value)  # new arrays: a shared flat buffer would lose them


class ForgetsConfig(GoodDense):
    def get_config(self):
        return {}  # units is lost


class NeedsArgsNoDeclaration(GoodDense):
    @classmethod
    def conformance_cases(cls):
        return None


class NoInputShape(GoodScale):
    @classmethod
    def conformance_cases(cls):
        return None


# -- broken losses -----------------------------------------------------------------------------


class WrongHandValue(GoodSquaredError):
    @classmethod
    def hand_computed_case(cls):
        return np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]), 1.0  # forgot to average over the 2 outputs


class NoHandCase(GoodSquaredError):
    @classmethod
    def hand_computed_case(cls):
        return None


class WrongLossGrad(GoodSquaredError):
    def per_sample_grad(self, y_pred, y_true):
        return (y_pred - y_true) / y_pred.shape[-1]  # lost the factor 2


class UnclippedCrossEntropy(Loss):
    @classmethod
    def hand_computed_case(cls):
        return np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]), np.log(2.0)  # -(log 0.5 + log 0.5) / 2

    def per_sample(self, y_pred, y_true):
        return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred), axis=-1)  # log(0)

    def per_sample_grad(self, y_pred, y_true):
        return (y_pred - y_true) / (y_pred * (1 - y_pred)) / y_pred.shape[-1]


class BroadcastsTargets(GoodSquaredError):
    def prepare_targets(self, y_pred, y_true):
        return np.asarray(y_true, dtype=y_pred.dtype)  # no shape check: a (1, k) row broadcasts


class ReturnsPerSample(GoodSquaredError):
    def __call__(self, y_pred, y_true):
        return self.per_sample(y_pred, self.prepare_targets(y_pred, y_true))  # an array, not the mean


# -- broken optimizers -------------------------------------------------------------------------


class NeverConverges(Optimizer):
    def update(self, param, grad, state):
        param -= self.learning_rate * 1e-4 * np.sign(grad)  # a step far too small to ever arrive


class Rebinds(Optimizer):
    def update(self, param, grad, state):
        param = param - self.learning_rate * grad  # noqa: F841 (the bug: a new array, the weight is untouched)


class NaNOnZeroGradient(Optimizer):
    def update(self, param, grad, state):
        param -= self.learning_rate * grad / np.sqrt(grad * grad)  # 0 / 0 without an epsilon


class SharedAccumulator(Optimizer):
    """AdaGrad with one accumulator for all weights instead of one per weight."""

    def __init__(self, learning_rate=0.1):
        super().__init__(learning_rate)
        self.total = 1.0

    def update(self, param, grad, state):
        self.total += float(np.sum(grad * grad))
        param -= self.learning_rate * grad / np.sqrt(self.total)


class LosesConfig(GoodSGD):
    @classmethod
    def conformance_cases(cls):
        return [{"learning_rate": 0.05}]

    def get_config(self):
        return {}  # the learning rate is lost


class Float64State(Optimizer):
    def create_state(self, param):
        return {"velocity": np.zeros(param.shape)}  # float64 state for a float32 weight

    def update(self, param, grad, state):
        state["velocity"] = 0.5 * state["velocity"] - self.learning_rate * grad
        param += state["velocity"].astype(param.dtype)


# -- broken metrics ----------------------------------------------------------------------------


class WrongHandMetric(GoodTopOneAccuracy):
    @classmethod
    def hand_computed_case(cls):
        return [[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]], [[1, 0], [1, 0], [0, 1]], 2 / 3  # miscounted


class NoHandMetric(GoodTopOneAccuracy):
    hand_computed_case = None


class BatchSumMetric(GoodTopOneAccuracy):
    """Returns the count of right answers in every entry: a batch figure, not a per-sample one."""

    @classmethod
    def hand_computed_case(cls):
        return [[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]], [[1, 0], [1, 0], [0, 1]], 1.0

    def per_sample(self, y_pred, y_true):
        right = super().per_sample(y_pred, y_true)
        return np.full_like(right, right.sum())


class ScalesTargetsInPlace(GoodTopOneAccuracy):
    def per_sample(self, y_pred, y_true):
        y_pred /= y_pred.sum(axis=-1, keepdims=True) * 2  # "normalises" the caller's array
        return super().per_sample(y_pred, y_true)


class CrashesOnWrongShape(GoodTopOneAccuracy):
    def __call__(self, y_pred, y_true):
        y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
        if y_true.shape == y_pred.shape[:-1]:
            y_true = np.eye(y_pred.shape[-1])[y_true]
        return float(np.mean(np.argmax(y_pred, -1) == np.argmax(y_true, -1)[: len(y_pred)]))


# -- broken against the new contract: weights, configs, speed declarations ------------------


class IgnoresGammaInInputGrad(GoodLayerNorm):
    def call_backward(self, grad):
        self._weight_grads(grad)
        return self._input_grad(grad)  # forgot gamma: right only while gamma is all ones


class ScalesGradOutInPlace(GoodLayerNorm):
    def call_backward(self, grad):
        self._weight_grads(grad)
        grad *= self.params["gamma"]  # into the caller's array: unseen only while gamma is all ones
        return self._input_grad(grad)


class RecordsOnlyNonDefaults(GoodDense):
    """The old config rule: an argument at its default is left out of the config."""

    def __init__(self, units, use_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.use_bias = use_bias

    def create_weights(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units))
        if self.use_bias:
            self.add_weight("bias", (self.units,), "he_normal")

    def call(self, X, training=False):
        self._X = X
        Z = X @ self.params["kernel"]
        return Z + self.params["bias"] if self.use_bias else Z

    def call_backward(self, grad):
        self.grads["kernel"][...] = self._X.T @ grad
        if self.use_bias:
            self.grads["bias"][...] = grad.sum(axis=0)
        return grad @ self.params["kernel"].T

    def get_config(self):
        config = super().get_config()
        if config["use_bias"]:
            del config["use_bias"]
        return config


class UseBiasLostOnRebuild(RecordsOnlyNonDefaults):
    get_config = GoodDense.get_config  # records every argument

    @classmethod
    def from_config(cls, config):
        return cls(**{k: v for k, v in config.items() if k != "use_bias"})  # a layer without bias comes back with one


class RebuildsWithDefaults(GoodLeakyReLU):
    @classmethod
    def from_config(cls, config):
        return cls()  # drops negative_slope: right only at its default


class ScaleLostOnRebuild(GoodScaledSquaredError):
    @classmethod
    def from_config(cls, config):
        return cls()


class MomentumLostOnRebuild(GoodMomentum):
    @classmethod
    def from_config(cls, config):
        return cls(learning_rate=config["learning_rate"])


class ThresholdLostOnRebuild(GoodThresholdAccuracy):
    @classmethod
    def from_config(cls, config):
        return cls(name=config["name"])


class ForgetsBiasWithoutInputGrad(GoodDense):
    def call_backward(self, grad, need_input_grad=True):
        self.grads["kernel"][...] = self._X.T @ grad
        if not need_input_grad:
            return None  # returns before writing the bias gradient
        self.grads["bias"][...] = grad.sum(axis=0)
        return grad @ self.params["kernel"].T


class _Box:
    pass


class HidesZInAnotherObject(GoodExpScale):
    """Keeps ``Z`` inside another object, where the core cannot see it: the activation overwrites it."""

    def call(self, X, training=False):
        Z = np.exp(X * self.params["w"])
        if training:
            self._X, self._box = X, _Box()
            self._box.Z = Z
        return Z

    def _kept_Z(self):
        return self._box.Z


class WrongDerivativeFromOutput(GoodSigmoid):
    def derivative_from_output(self, Y):
        return Y  # forgot the (1 - Y)


class FusedForgetsTheMean(GoodBinaryCrossEntropy):
    def fused_grad(self, activation, y_pred, y_true):
        if not is_registered_as(activation, "sigmoid"):
            return None
        return y_pred - self.prepare_targets(y_pred, y_true)  # not divided by the number of entries


class ClipsEachWeightDeclaresElementwise(Optimizer):
    """Clips each weight's gradient to norm 1, which needs the weights apart, yet declares elementwise."""

    elementwise = True

    def update(self, param, grad, state):
        norm = np.sqrt(np.sum(grad * grad))
        param -= self.learning_rate * grad * min(1.0, 1.0 / max(norm, 1e-12))


class SingleThreadedSharedCache(SharesCacheWithReplicas):
    """Shares a module-level cache, but says so: fit never replicates it."""

    parallel_training = False


GOOD.append(("layer", SingleThreadedSharedCache, {"layer_backward_without_input_grad_keeps_weight_grads": "call_backward takes no need_input_grad", "layer_replica_trains_independently": "parallel_training = False"}))


class UpdatesStatisticsWhenPredicting(GoodRunningMean):
    """Moves its running mean in inference too: predictions would change the model."""

    def call(self, X, training=False):
        self.params["moving_mean"][...] = 0.9 * self.params["moving_mean"] + 0.1 * X.mean(axis=0)
        return GoodScale.call(self, X, training)


BROKEN = [
    ("layer", UpdatesStatisticsWhenPredicting, {"layer_non_trainable_weights_are_left_to_the_layer"}),
    ("activation", WrongDerivative, {"activation_grad_input_matches_finite_differences",
                                     "activation_backward_matches_finite_differences"}),
    ("activation", BackwardDisagrees, {"activation_backward_matches_jacobian_vector_product",
                                       "activation_backward_matches_finite_differences"}),
    ("activation", FlatJacobian, {"activation_grad_input_shape_is_batch_n_n", "activation_grad_input_matches_finite_differences",
                                  "activation_backward_matches_jacobian_vector_product"}),
    # the other checks hand it copies: only the check named for the bug fails
    ("activation", ModifiesInput, {"activation_does_not_modify_input"}),
    ("activation", UpcastsActivation, {"activation_keeps_float32"}),
    ("activation", NaiveSoftplus, {"activation_finite_on_extreme_inputs"}),
    ("activation", ForgetsInplace, {"activation_eval_inplace_matches_eval"}),
    ("activation", ClaimsOutputOnlyDerivative, {"activation_derivative_from_output_alone"}),
    ("activation", NoisyActivation, {"activation_is_deterministic", "activation_grad_input_matches_finite_differences",
                                     "activation_eval_inplace_matches_eval", "activation_config_round_trips",
                                     "activation_backward_matches_finite_differences",
                                     "activation_backward_matches_jacobian_vector_product"}),
    # the 3-D input's wrongly shaped output also breaks backward and eval_inplace on 3-D inputs
    ("activation", ShapeLiarActivation, {"activation_output_shape_matches_input",
                                         "activation_backward_matches_jacobian_vector_product",
                                         "activation_eval_inplace_matches_eval"}),
    ("layer", LyingOutputShape, {"layer_output_shape_matches_forward"}),
    ("layer", MixesSamples, {"layer_samples_are_independent"}),
    # the other checks hand it copies: only the check named for the bug fails
    ("layer", ModifiesLayerInput, {"layer_does_not_modify_input"}),
    ("layer", WrongKernelGrad, {"layer_param_grads_match_finite_differences"}),
    ("layer", WrongInputGrad, {"layer_grad_input_matches_finite_differences"}),
    ("layer", UpcastsLayer, {"layer_keeps_dtype"}),
    ("layer", SharesCacheWithReplicas, {"layer_replica_trains_independently"}),
    ("layer", Broadcasts, {"layer_rejects_wrong_input_shape"}),
    ("layer", CountsWrong, {"layer_param_count_matches_weights"}),
    ("layer", ReplacesWeights, {"layer_weights_round_trip"}),
    ("layer", ForgetsConfig, {"layer_config_rebuilds_same_layer"}),
    ("layer", NeedsArgsNoDeclaration, {"layer_conformance_cases_declared"}),
    ("layer", NoInputShape, {"layer_conformance_cases_declared"}),
    ("loss", WrongHandValue, {"loss_matches_hand_computed_case"}),
    ("loss", NoHandCase, {"loss_matches_hand_computed_case"}),
    ("loss", WrongLossGrad, {"loss_grad_input_matches_finite_differences"}),
    ("loss", UnclippedCrossEntropy, {"loss_is_finite_at_zero_and_one"}),
    ("loss", BroadcastsTargets, {"loss_rejects_wrong_target_shape"}),
    ("loss", ReturnsPerSample, {"loss_returns_a_scalar", "loss_grad_input_matches_finite_differences",
                                "loss_matches_hand_computed_case"}),
    ("optimizer", NeverConverges, {"optimizer_minimizes_convex_quadratic"}),
    ("optimizer", Rebinds, {"optimizer_updates_params_in_place", "optimizer_minimizes_convex_quadratic"}),
    ("optimizer", NaNOnZeroGradient, {"optimizer_zero_gradient_changes_nothing"}),
    ("optimizer", SharedAccumulator, {"optimizer_keeps_state_per_parameter"}),
    ("optimizer", LosesConfig, {"optimizer_config_round_trips"}),
    ("optimizer", Float64State, {"optimizer_updates_params_in_place"}),
    ("metric", WrongHandMetric, {"metric_matches_hand_computed_case"}),
    ("metric", NoHandMetric, {"metric_matches_hand_computed_case"}),
    ("metric", BatchSumMetric, {"metric_is_the_mean_over_samples"}),
    ("metric", ScalesTargetsInPlace, {"metric_does_not_modify_inputs"}),
    ("metric", CrashesOnWrongShape, {"metric_rejects_wrong_target_shape"}),
    # weights moved off their initial values: gamma at ones hid both
    ("layer", IgnoresGammaInInputGrad, {"layer_grad_input_matches_finite_differences"}),
    ("layer", ScalesGradOutInPlace, {"layer_does_not_modify_input"}),
    # configs record every argument, and rebuild the plugin with non-default ones too
    ("layer", RecordsOnlyNonDefaults, {"layer_config_rebuilds_same_layer"}),
    ("layer", UseBiasLostOnRebuild, {"layer_config_rebuilds_same_layer"}),
    ("activation", RebuildsWithDefaults, {"activation_config_round_trips"}),
    ("loss", ScaleLostOnRebuild, {"loss_config_round_trips"}),
    ("optimizer", MomentumLostOnRebuild, {"optimizer_config_round_trips"}),
    ("metric", ThresholdLostOnRebuild, {"metric_config_round_trips"}),
    # speed declarations that would give wrong numbers
    ("layer", ForgetsBiasWithoutInputGrad, {"layer_backward_without_input_grad_keeps_weight_grads"}),
    ("layer", HidesZInAnotherObject, {"layer_grad_input_matches_finite_differences",
                                      "layer_param_grads_match_finite_differences"}),
    ("activation", WrongDerivativeFromOutput, {"activation_derivative_from_output_alone"}),
    ("loss", FusedForgetsTheMean, {"loss_fused_grad_matches_chain_rule"}),
    ("optimizer", ClipsEachWeightDeclaresElementwise, {"optimizer_elementwise_update_matches_per_weight"}),
]


def _by_check(results):
    return {r.check: r for r in results}


@pytest.mark.parametrize("kind, cls, skipped", GOOD, ids=[c.__name__ for _, c, _ in GOOD])
def test_correct_plugins_pass_every_check_that_applies(kind, cls, skipped):
    results = check_plugin(kind, cls)
    assert [r.check for r in results] == check_names(kind)
    assert {r.check: r.reason for r in results if r.status == SKIPPED} == skipped, format_report(results)
    assert all(r.status == PASSED for r in results if r.check not in skipped), format_report(results)
    assert all(r.ok for r in results)  # a skip lets the run succeed


@pytest.mark.parametrize("kind, cls, caught_by", BROKEN, ids=[c.__name__ for _, c, _ in BROKEN])
def test_each_broken_plugin_is_caught_by_the_right_check(kind, cls, caught_by):
    results = check_plugin(kind, cls)
    failed = {r.check for r in results if r.status == FAILED}
    assert failed == caught_by, format_report(results)
    for check in caught_by:
        message = _by_check(results)[check].message
        assert message.startswith(check), message
        assert cls.__name__ in message and "expected" in message and "found" in message, message


def test_a_missing_declaration_says_what_to_declare_and_runs_nothing_silently():
    results = _by_check(check_plugin("layer", NeedsArgsNoDeclaration))
    message = results["layer_conformance_cases_declared"].message
    assert "units" in message and "conformance_cases" in message
    # the other checks are reported as not run because of it, never silently dropped
    others = [r for name, r in results.items() if name not in ("layer_conformance_cases_declared",
                                                             "layer_expected_failures_name_known_checks")]
    assert others and all(r.status == SKIPPED and "layer_conformance_cases_declared" in r.message for r in others)
    assert "input_size" in _by_check(check_plugin("layer", NoInputShape))["layer_conformance_cases_declared"].message
    assert "hand_computed_case" in _by_check(check_plugin("loss", NoHandCase))["loss_matches_hand_computed_case"].message


def test_a_case_that_does_not_build_fails_the_declaration_check():
    class BadCase(GoodDense):
        @classmethod
        def conformance_cases(cls):
            return [{"units": 3}]  # no input_size

    result = _by_check(check_plugin("layer", BadCase))["layer_conformance_cases_declared"]
    assert result.status == FAILED and "input_size" in result.message


def test_expected_failures_are_reported_with_their_reason_and_cannot_go_stale():
    class KnownBug(WrongDerivative):
        expected_failures = {
            "activation_grad_input_matches_finite_differences": "derivative off, tracked in issue 99",
            "activation_backward_matches_finite_differences": "same bug",
        }

    results = check_plugin("activation", KnownBug)
    by_check = _by_check(results)
    assert by_check["activation_grad_input_matches_finite_differences"].status == XFAILED
    assert all(r.ok for r in results)
    assert "derivative off, tracked in issue 99" in format_report(results)

    class Stale(GoodSigmoid):
        expected_failures = {"activation_keeps_float32": "was broken once"}

    stale = _by_check(check_plugin("activation", Stale))["activation_keeps_float32"]
    assert stale.status == XPASSED and not stale.ok and "remove it" in stale.message

    class Misspelt(GoodSigmoid):
        expected_failures = {"activation_keeps_float_32": "typo"}

    misspelt = _by_check(check_plugin("activation", Misspelt))["activation_expected_failures_name_known_checks"]
    assert misspelt.status == FAILED and "activation_keeps_float_32" in misspelt.message


def test_plugins_registered_in_code_are_checked_by_name_and_by_the_cli(capsys):
    register("activation", "teeth_wrong_derivative", WrongDerivative)
    register("optimizer", "teeth_never_converges", NeverConverges)
    try:
        results = run_checks(["teeth_wrong_derivative", "optimizer:teeth_never_converges"])
        assert {(r.plugin, r.check) for r in results if r.status == FAILED} == {
            ("teeth_wrong_derivative", "activation_grad_input_matches_finite_differences"),
            ("teeth_wrong_derivative", "activation_backward_matches_finite_differences"),
            ("teeth_never_converges", "optimizer_minimizes_convex_quadratic"),
        }
        assert main(["check", "teeth_wrong_derivative"]) == 1
        out = capsys.readouterr().out
        assert "FAIL   activation:teeth_wrong_derivative  activation_grad_input_matches_finite_differences" in out
        assert "PASS   activation:teeth_wrong_derivative  activation_output_shape_matches_input" in out
        assert "14 checks on 1 plugin(s): 11 passed, 2 failed, 1 skipped (derivative_from_output not overridden: 1)" in out
        assert main(["check", "activation:sigmoid", "layer:dense"]) == 0
    finally:
        REGISTRY.unregister("activation", "teeth_wrong_derivative")
        REGISTRY.unregister("optimizer", "teeth_never_converges")


def test_the_pytest_integration_fails_xfails_and_skips(capsys):
    with pytest.raises(pytest.fail.Exception, match="activation_keeps_float32"):
        ConformanceCheck("activation", "upcasts", UpcastsActivation, "activation_keeps_float32")()

    class KnownBug(UpcastsActivation):
        expected_failures = {"activation_keeps_float32": "known"}

    with pytest.raises(pytest.xfail.Exception, match="known"):
        ConformanceCheck("activation", "known", KnownBug, "activation_keeps_float32")()
    with pytest.raises(pytest.skip.Exception):
        ConformanceCheck("layer", "undeclared", NeedsArgsNoDeclaration, "layer_keeps_dtype")()
    ConformanceCheck("activation", "good", GoodSigmoid, "activation_keeps_float32")()  # passes: no exception


def test_a_cache_in_a_dict_of_its_own_is_safe_on_threads():
    """The old rule "caches only in attributes you assign" is gone: replicas are deep copies sharing only the weights."""
    results = check_plugin("layer", CachesInADict)
    assert all(r.status == PASSED for r in results if r.check != "layer_backward_without_input_grad_keeps_weight_grads"), \
        format_report(results)


# -- the new contract's points, one test each --------------------------------------------------


@pytest.mark.parametrize("kind", ["activation", "layer"])
def test_the_does_not_modify_input_check_runs_first(kind):
    assert check_names(kind)[1] == f"{kind}_does_not_modify_input"


def test_checks_that_do_not_apply_are_skipped_with_the_reason_in_the_report_and_summary():
    results = check_plugin("activation", GoodSoftmax) + check_plugin("layer", GoodMaxPool2D)
    report = format_report(results).splitlines()
    at = report.index("SKIP   activation:GoodSoftmax  activation_eval_inplace_matches_eval")
    assert report[at + 1] == "       not applicable: not element-wise"
    assert report[-1].endswith(
        "5 skipped (not element-wise: 2; no weights: 2; call_backward takes no need_input_grad: 1)"
    ), report[-1]
    assert all(r.ok for r in results)
    with pytest.raises(pytest.skip.Exception, match="not applicable: no weights"):
        ConformanceCheck("layer", "pool", GoodMaxPool2D, "layer_param_grads_match_finite_differences")()


def test_a_check_applying_to_some_cases_only_passes_on_those():
    class OptionalScale(GoodScale):
        def __init__(self, use_scale=True, **kwargs):
            super().__init__(**kwargs)
            self.use_scale = use_scale

        @classmethod
        def conformance_cases(cls):
            return [{"use_scale": False, "input_size": (4,)}, {"input_size": (4,)}]

        def create_weights(self, input_shape):
            if self.use_scale:
                super().create_weights(input_shape)

        def call(self, X, training=False):
            return super().call(X, training) if self.use_scale else X.copy()

        def call_backward(self, grad):
            return super().call_backward(grad) if self.use_scale else grad.copy()

    result = {r.check: r for r in check_plugin("layer", OptionalScale)}["layer_param_grads_match_finite_differences"]
    assert result.status == PASSED, result.message


def test_randomised_weights_are_what_catches_a_gradient_that_ignores_gamma(monkeypatch):
    for cls in (IgnoresGammaInInputGrad, ScalesGradOutInPlace):
        assert not all(r.ok for r in check_plugin("layer", cls))
    # with gamma left at its initial ones, both bugs are invisible to every check
    monkeypatch.setattr("minikeras_core.testing._base.randomize_weights", lambda layer, rng: None)
    for cls in (IgnoresGammaInInputGrad, ScalesGradOutInPlace):
        assert all(r.ok for r in check_plugin("layer", cls)), format_report(check_plugin("layer", cls))


def test_weights_are_randomised_off_their_initial_values_keeping_their_sign():
    from minikeras_core.testing._base import Subject

    subject = Subject("layer", "norm", GoodLayerNorm, {"input_size": (50,)})
    initial, randomised = subject.make_layer(randomize=False), subject.make_layer()
    gamma, beta = randomised.params["gamma"], randomised.params["beta"]
    assert np.all(initial.params["gamma"] == 1) and np.all(initial.params["beta"] == 0)
    assert 0.1 < gamma.min() and gamma.max() < 2 and np.std(gamma) > 0.1  # p * U(0.5, 1.5) + N(0, 0.1)
    assert np.all(beta != 0) and np.abs(beta).max() < 0.5


def test_a_layer_that_keeps_z_itself_is_left_alone_and_one_hiding_it_is_caught():
    # GoodExpScale keeps Z in an attribute: the core sees it and applies tanh to a copy (it is in GOOD)
    failed = {r.check: r.message for r in check_plugin("layer", HidesZInAnotherObject) if r.status == FAILED}
    assert all("with activation='tanh' added" in message for message in failed.values()), failed


def test_the_replica_check_names_shared_state_not_a_numpy_error():
    result = {r.check: r for r in check_plugin("layer", SharesCacheWithReplicas)}["layer_replica_trains_independently"]
    assert "found the layer keeps state shared with its replicas" in result.message, result.message


def test_config_checks_say_which_non_default_arguments_they_used():
    result = {r.check: r for r in check_plugin("layer", UseBiasLostOnRebuild)}["layer_config_rebuilds_same_layer"]
    assert "built with non-default arguments" in result.message and "use_bias=False" in result.message, result.message
