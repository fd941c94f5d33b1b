"""The engine's modules through their public functions: data checks, the step, the callback list, the trainer's methods."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core.engine import data, step
from minikeras_core.engine.callback_list import CallbackList

CORE = Path(mk.__file__).parent


def classifier(seed: int = 0, dtype: str = "float64") -> mk.Sequential:
    model = mk.Sequential(seed=seed, dtype=dtype)
    model.add("dense", units=4, activation="tanh", input_size=(3,))
    model.add("dense", units=3, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer="sgd", metrics=["accuracy"])
    return model


def samples(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.integers(0, 3, n)


@pytest.mark.parametrize("n, split, train", [(30, 0.25, 22), (10, 0.3, 7), (7, 0.5, 3), (100, 0.2, 80)])
def test_validation_split_keeps_floor_of_n_times_one_minus_split_as_keras(n, split, train):
    X, y = samples(n)
    X_train, y_train, (X_val, y_val) = data.split_validation(None, X, y, split, None)
    assert len(X_train) == len(y_train) == train == math.floor(n * (1 - split))
    np.testing.assert_array_equal(X_val, X[train:])  # the last samples, before any shuffling


def test_fit_trains_on_the_keras_count_of_samples():
    seen = []

    class Steps(mk.Callback):
        def on_train_begin(self, logs=None):
            seen.append(self.params["steps"])

    X, y = samples(30)
    classifier().fit(X, y, epochs=1, batch_size=1, validation_split=0.25, verbose=0, callbacks=[Steps()])
    assert seen == [22]


def test_every_callback_is_told_the_model_and_the_run_before_training_begins():
    events = []

    class Told(mk.Callback):
        def set_model(self, model):
            events.append(("set_model", model))
            super().set_model(model)

        def set_params(self, params):
            events.append(("set_params", params))
            super().set_params(params)

        def on_train_begin(self, logs=None):
            events.append(("train_begin", None))

    class Duck:  # a pluggy plugin that is no Callback subclass but knows Keras's two methods
        def set_model(self, model):
            events.append(("duck", model))

    model = classifier()
    X, y = samples(12)
    model.fit(X, y, epochs=2, batch_size=5, verbose=0, callbacks=[Told(), Duck()])
    assert [e[0] for e in events] == ["set_model", "set_params", "duck", "train_begin"]
    assert events[0][1] is model and events[2][1] is model
    assert events[1][1] == {"verbose": 0, "epochs": 2, "steps": 3}


def test_a_callback_list_skips_batch_events_nobody_listens_to():
    quiet = CallbackList([mk.callbacks.History()], model=None, installed=False)
    assert not quiet.listens_to_batches

    class Batches(mk.Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    assert CallbackList([Batches()], model=None, installed=False).listens_to_batches


def test_the_step_fuses_the_loss_with_the_last_activation_by_one_rule():
    model = classifier()
    X, y = samples(5)
    y_pred = step.forward(model.layers, X, training=True)
    grad, fused = step.output_gradient(model.layers[-1], model.loss, y_pred, y)
    assert fused
    np.testing.assert_allclose(grad, (y_pred - np.eye(3)[y]) / 5, rtol=1e-12)  # softmax with cross-entropy: (p - y) / n
    linear = mk.Sequential(dtype="float64")
    linear.add("dense", units=3, activation="sigmoid", input_size=(3,))
    linear.compile("categorical_cross_entropy")
    y_pred = step.forward(linear.layers, X, training=True)
    grad, fused = step.output_gradient(linear.layers[-1], linear.loss, y_pred, y)
    assert not fused  # no shortcut for a sigmoid under categorical cross-entropy
    np.testing.assert_allclose(grad, linear.loss.grad_input(y_pred, y))


def test_the_batch_methods_behave_as_keras():
    X, y = samples(8)
    model, reference = classifier(), classifier()
    loss, accuracy = model.train_on_batch(X, y)  # metrics compiled: a list
    reference.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.test_on_batch(X, y, return_dict=True) == dict(zip(("loss", "accuracy"), model.evaluate(X, y)))
    np.testing.assert_array_equal(model.predict_on_batch(X), model.predict(X))
    plain = mk.Sequential(dtype="float64")
    plain.add("dense", units=3, activation="softmax", input_size=(3,))
    plain.compile("categorical_cross_entropy")
    assert isinstance(plain.train_on_batch(X, y), float)  # no metrics: the loss alone
    assert isinstance(loss, float) and 0 <= accuracy <= 1


def test_predict_verbose_prints_a_closing_line_and_silent_prints_nothing(capsys):
    model = classifier()
    X, _ = samples(40)
    model.predict(X, batch_size=16, verbose=0)
    assert capsys.readouterr().out == ""
    model.predict(X, batch_size=16, verbose=1)
    line = capsys.readouterr().out
    assert line.startswith("3/3 - ") and line.endswith("ms/step\n")
    with pytest.raises(ValueError, match="verbose"):
        model.predict(X, verbose=5)


def test_data_checks_name_the_method_and_argument():
    model = classifier()
    with pytest.raises(ValueError, match=r"fit\(\): X has samples of shape \(4,\), the model expects \(3,\)"):
        data.check_inputs(model, np.zeros((2, 4)), "fit")
    with pytest.raises(ValueError, match=r"evaluate\(\): y holds class ids from 0 to 5"):
        data.check_data(model, np.zeros((2, 3)), np.array([0, 5]), "evaluate")
    assert list(data.chunks(10, 4)) == [(0, 4), (4, 8), (8, 10)]
    assert data.epochs_argument(None, 3) == 3 and data.verbose_argument("auto") == 1


def _imports(path: Path, package: str) -> set[str]:
    """The minikeras_core modules ``path`` imports anywhere (functions included), as dotted names."""
    here = (package + "." + path.relative_to(CORE).with_suffix("").as_posix().replace("/", ".")).removesuffix(".__init__")
    parent = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = parent
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            module = (base + ("." + node.module if node.module else "")) if node.level else (node.module or "")
            names = [module + "." + alias.name for alias in node.names]
            modules = {n for n in names if _is_module(n, package)}
            found.update(modules)
            if len(modules) < len(names):  # some names are attributes of the module itself
                found.add(module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == package or m.startswith(package + ".")} - {here}


def _is_module(name: str, package: str) -> bool:
    relative = name.removeprefix(package + ".").replace(".", "/")
    return (CORE / (relative + ".py")).exists() or (CORE / relative / "__init__.py").exists()


def test_no_import_cycle_among_core_modules():
    graph = {}
    for path in CORE.rglob("*.py"):
        name = ("minikeras_core." + path.relative_to(CORE).with_suffix("").as_posix().replace("/", ".")).removesuffix(".__init__")
        graph[name] = _imports(path, "minikeras_core")
    # a module importing a package imports its __init__; the package's __init__ itself is where the public API gathers
    for name, imported in graph.items():
        assert "minikeras_core" not in imported or name == "minikeras_core", f"{name} imports the package itself"
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_engine_and_the_model_stay_short():
    for path in [*(CORE / "engine").glob("*.py"), CORE / "model.py"]:
        lines = len(path.read_text().splitlines())
        assert lines < 250, f"{path.name} has {lines} lines; split it along its concerns"


def test_each_built_in_plugin_module_stays_short():
    """One plugin per module, read as math: the shared machinery belongs in minikeras_core (issue 11's limit)."""
    modules = sorted((CORE.parent / "plugins" / "minikeras_plugins").glob("*.py"))
    assert len(modules) > 40
    for path in modules:
        lines = len(path.read_text().splitlines())
        assert lines <= 150, f"plugins/minikeras_plugins/{path.name} has {lines} lines; move shared machinery to minikeras_core"
