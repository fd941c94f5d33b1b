"""`minikeras check` and `minikeras new-plugin`: exit codes, output, and a generated package that works."""

import ast
import importlib.util
import sys

import numpy as np
import pytest

from minikeras_core import ElementwiseActivation, Loss, register
from minikeras_core.cli import main
from minikeras_core.kinds import _KINDS, KindSpec
from minikeras_core.registry import REGISTRY, kind_spec
from minikeras_core.scaffold import TEMPLATES, render
from minikeras_core.testing import CHECKED_KINDS, SKIPPED, all_check_names, run_checks


def test_check_a_distribution_prints_one_line_per_check_and_a_summary(capsys):
    assert main(["check", "--dist", "minikeras-leaky-relu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = len(all_check_names()["activation"]) + len(all_check_names()["loss"])
    assert sum(line.startswith(("PASS ", "SKIP ")) for line in lines) == expected
    assert "PASS   activation:leaky_relu  activation_grad_input_matches_finite_differences" in lines
    assert "PASS   loss:log_cosh  loss_matches_hand_computed_case" in lines
    # checks that do not apply are skipped, each with its reason under it and counted by reason in the summary
    skip = lines.index("SKIP   activation:leaky_relu  activation_derivative_from_output_alone")
    assert lines[skip + 1] == "       not applicable: derivative_from_output not overridden"
    assert "SKIP   loss:log_cosh  loss_fused_grad_matches_chain_rule" in lines
    assert lines[-1] == (f"{expected} checks on 2 plugin(s): {expected - 2} passed, 0 failed, 2 skipped "
                         "(derivative_from_output not overridden: 1; fused_grad returns None for every installed activation: 1)")


def test_check_errors_exit_2_with_a_message(capsys, tmp_path):
    assert main(["check", "no_such_plugin_anywhere"]) == 2
    assert "no_such_plugin_anywhere" in capsys.readouterr().err
    assert main(["check", "--dist", "no-such-distribution"]) == 2
    assert "no-such-distribution" in capsys.readouterr().err
    assert main(["check"]) == 2


def test_a_name_of_two_kinds_needs_kind_colon_name(capsys):
    class Twin(ElementwiseActivation):
        def eval(self, X):
            return X.copy()

        def derivative(self, X, Y):
            return np.ones_like(X)

    class TwinLoss(Loss):
        @classmethod
        def hand_computed_case(cls):
            return np.array([[3.0]]), np.array([[1.0]]), 2.0

        def per_sample(self, y_pred, y_true):
            return np.mean(np.abs(y_pred - y_true), axis=-1)

        def per_sample_grad(self, y_pred, y_true):
            return np.sign(y_pred - y_true) / y_pred.shape[-1]

    register("activation", "teeth_twin", Twin)
    register("loss", "teeth_twin", TwinLoss)
    try:
        assert main(["check", "teeth_twin"]) == 2
        err = capsys.readouterr().err
        assert "activation:teeth_twin" in err and "loss:teeth_twin" in err
        assert main(["check", "loss:teeth_twin"]) == 0
        assert "loss:teeth_twin  loss_matches_hand_computed_case" in capsys.readouterr().out
    finally:
        REGISTRY.unregister("activation", "teeth_twin")
        REGISTRY.unregister("loss", "teeth_twin")


def test_list_names_every_check(capsys):
    assert main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    for names in all_check_names().values():
        for name in names:
            assert f"  {name}\n" in out


def test_kinds_without_checks_are_skipped_not_crashed(monkeypatch):
    class Widget:
        pass

    class Spinner(Widget):
        pass

    monkeypatch.setitem(_KINDS, "teeth_widget", KindSpec("teeth_widget", "minikeras.teeth_widgets", Widget))
    results = run_checks([("teeth_widget", Spinner)])
    assert [r.status for r in results] == [SKIPPED]
    assert "no conformance checks" in results[0].message
    assert main(["check", "--all"]) == 0  # every registered plugin; the unknown kind is not among them


# -- new-plugin ---------------------------------------------------------------------------------


def _load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_new_plugin_writes_a_package_whose_plugin_passes_the_suite(kind, tmp_path, capsys):
    tomllib = pytest.importorskip("tomllib")
    name = f"scaffolded_{kind}"
    assert main(["new-plugin", kind, name, "--dir", str(tmp_path)]) == 0
    assert f"minikeras check {kind}:{name}" in capsys.readouterr().out
    root = tmp_path / f"minikeras-scaffolded-{kind}"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(render(kind, name))

    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"minikeras-scaffolded-{kind}"
    assert project["project"]["dependencies"] == ["minikeras-core", "numpy>=1.23"]
    target = project["project"]["entry-points"][kind_spec(kind).group][name]
    module_path, _, class_name = target.partition(":")
    assert (root / (module_path.replace(".", "/") + ".py")).is_file()

    module = _load_module(root / (module_path.replace(".", "/") + ".py"), f"scaffold_test_{kind}")
    cls = getattr(module, class_name)
    register(kind, name, cls)
    try:
        results = run_checks([f"{kind}:{name}"])
        assert results and all(r.ok for r in results), [r.message for r in results if not r.ok]

        # the generated test file compiles; run its model test with the plugin registered in code
        test_source = (root / "tests" / f"test_{name}_plugin.py").read_text()
        assert f'conformance_tests(dist="minikeras-scaffolded-{kind}")' in test_source
        tree = ast.parse(test_source)
        keep = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) or
                (isinstance(n, ast.FunctionDef) and n.name == "test_a_model_uses_the_plugin_by_name")]
        namespace = {}
        exec(compile(ast.Module(body=keep, type_ignores=[]), "generated_test", "exec"), namespace)
        namespace["test_a_model_uses_the_plugin_by_name"]()
        assert sorted(TEMPLATES) == sorted(CHECKED_KINDS)  # every kind of plugin the suite checks has a template
    finally:
        REGISTRY.unregister(kind, name)
        sys.modules.pop(f"scaffold_test_{kind}", None)


def test_the_activation_template_is_the_documented_identity(tmp_path):
    main(["new-plugin", "activation", "placeholder", "--dir", str(tmp_path)])
    module = _load_module(tmp_path / "minikeras-placeholder" / "minikeras_placeholder" / "placeholder.py", "scaffold_identity")
    act = module.Placeholder()
    X = np.array([[-1.5, 0.0, 2.0]], dtype=np.float32)
    Y = act.eval(X)
    assert Y is not X and Y.dtype == np.float32
    np.testing.assert_array_equal(Y, X)
    np.testing.assert_array_equal(act.grad_input(X), np.eye(3, dtype=np.float32)[None])


def test_new_plugin_refuses_bad_names_and_existing_folders(tmp_path, capsys):
    assert main(["new-plugin", "activation", "Bad-Name", "--dir", str(tmp_path)]) == 2
    assert "snake_case" in capsys.readouterr().err
    assert main(["new-plugin", "loss", "twice", "--dir", str(tmp_path)]) == 0
    assert main(["new-plugin", "loss", "twice", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["new-plugin", "loss", "twice", "--dir", str(tmp_path), "--force"]) == 0


def test_an_entry_point_that_does_not_import_is_a_failure_not_a_crash(monkeypatch, capsys):
    import importlib_metadata

    from minikeras_core.registry import PluginInfo

    ep = importlib_metadata.EntryPoint(name="teeth_broken", value="no_such_module_teeth:Thing", group="minikeras.activations")
    fake = PluginInfo("activation", "teeth_broken", ep.value, "teeth-broken-dist", "0.1", ep)
    monkeypatch.setitem(REGISTRY._entry_cache, "activation", [*REGISTRY.infos("activation"), fake])
    results = run_checks(dist="teeth-broken-dist")
    assert [(r.check, r.status) for r in results] == [("activation_entry_point_loads", "failed")]
    assert "no_such_module_teeth" in results[0].message
    assert main(["check", "--dist", "teeth-broken-dist"]) == 1
    assert "FAIL   activation:teeth_broken  activation_entry_point_loads" in capsys.readouterr().out


def test_check_by_name_reports_an_entry_point_that_does_not_import(fake_dists, capsys):
    fake_dists("teeth-unimportable", "0.1", {"minikeras.activations": {"teeth_unimportable": "teeth_unimportable_mod:Thing"}},
               {"teeth_unimportable_mod": "raise ImportError('needs teeth_missing_dependency, which is not installed')\n"})
    for spec in ("teeth_unimportable", "activation:teeth_unimportable"):
        assert main(["check", spec]) == 1
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        assert lines[0] == "FAIL   activation:teeth_unimportable  activation_entry_point_loads"
        assert "teeth_missing_dependency" in lines[1] and "teeth-unimportable 0.1" in lines[1]
        assert lines[-1] == "1 checks on 1 plugin(s): 0 passed, 1 failed"
        assert "Traceback" not in captured.out + captured.err
    results = run_checks(["teeth_unimportable"])
    assert [(r.check, r.status) for r in results] == [("activation_entry_point_loads", "failed")]


def test_contributing_lists_every_check_name():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "CONTRIBUTING.md").read_text()
    missing = [name for names in all_check_names().values() for name in names if f"`{name}`" not in text]
    assert not missing, f"CONTRIBUTING.md does not document {missing}"


def test_the_suite_runs_without_importing_pytest():
    import subprocess

    code = (
        "import sys\n"
        "from minikeras_core.testing import run_checks\n"
        "assert all(r.ok for r in run_checks(['activation:relu']))\n"
        "print('pytest' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
