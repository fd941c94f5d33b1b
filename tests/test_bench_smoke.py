"""The benchmark's workloads, run for a few steps on tiny data through the bench's own code.

This checks correctness only (the loss falls, the JSON is written); it never times anything.
A workload whose plugins are not installed is skipped.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the bench/ package at the repository root

from bench import run  # noqa: E402
from bench.workloads import workloads  # noqa: E402

# (workload, optimizer, seed model): the real workloads, and the fallbacks the bench offers.
CASES = [("mlp", "adam", "conv"), ("cnn", "adam", "conv"), ("rnn", "adam", "conv"), ("seed", "sgd", "conv"),
         ("lstm", "adam", "conv"), ("cnn_bn", "adam", "conv"), ("mlp", "sgd", "conv"), ("seed", "sgd", "dense")]


def tiny(name: str, optimizer: str, seed_model: str, minikeras: bool = True):
    wl = workloads(optimizer, seed_model)[name]
    missing = wl.missing_plugins()
    if missing and minikeras:
        pytest.skip(f"plugin {missing[0]!r} not installed")
    samples = {"mlp": 256, "cnn": 64, "rnn": 128, "seed": 360, "lstm": 128, "cnn_bn": 64}[name]
    batch = 300 if name == "seed" else 32
    # a few epochs over a small set; rates raised where the default would move too slowly to see in a few steps
    rate = {"adam": 3e-3, "sgd": 0.1}[wl.optimizer] if name != "seed" else wl.learning_rate
    return dataclasses.replace(wl, train_samples=samples, epochs=4 if name != "seed" else 10, batch=batch, learning_rate=rate)


@pytest.mark.parametrize(("name", "optimizer", "seed_model"), CASES)
def test_minikeras_loss_falls(name, optimizer, seed_model):
    wl = tiny(name, optimizer, seed_model)
    runner = run.MiniKerasRunner(wl)
    X, y = runner.data(wl.train_samples, 1)
    before = runner.loss(X, y)
    last_epoch = runner.train(X, y)
    # BatchNormalization's moving statistics (momentum 0.99) barely move in a few steps, so inference-mode loss
    # says little there: the training loss of the last epoch (batch statistics) must be below the start instead
    after = last_epoch if name == "cnn_bn" else runner.loss(X, y)
    assert after < before, f"{name}: loss went from {before} to {after}"
    assert runner.predict(X[:40]).shape == (40,) + runner.model.output_shape


@pytest.mark.parametrize(("name", "optimizer", "seed_model"), CASES)
def test_pytorch_loss_falls(name, optimizer, seed_model):
    pytest.importorskip("torch")
    wl = tiny(name, optimizer, seed_model, minikeras=False)  # PyTorch's side needs no Mini-Keras plugin
    runner = run.TorchRunner(wl)
    X, y = runner.data(wl.train_samples, 1)
    before = runner.loss(X, y)
    runner.train(X, y)
    assert runner.loss(X, y) < before
    assert tuple(runner.predict(X[:40]).shape)[0] == 40


def test_mlp_step_products_count_the_flops_of_a_training_step():
    # forward 3 products, weight gradients 3, input gradients of layers 2 and 3: 2 * m * k * n each
    sizes = [(784, 256), (256, 128), (128, 10)]
    expected = 2 * 128 * (2 * sum(i * o for i, o in sizes) + sum(i * o for i, o in sizes[1:]))
    assert run.step_flops(run.mlp_matmuls()) == expected


def test_main_writes_json_and_reports_missing_plugins(tmp_path, monkeypatch, capsys):
    real = run.workloads

    def with_a_missing_plugin(*args, **kwargs):
        table = real(*args, **kwargs)
        table["mlp"] = dataclasses.replace(table["mlp"], layers=("no_such_layer",))
        return table

    monkeypatch.setattr(run, "workloads", with_a_missing_plugin)
    out = tmp_path / "results.json"
    code = run.main(["--quick", "--no-torch", "--no-memory", "--rounds", "1", "--workloads", "mlp,seed",
                     "--seed-model", "dense", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "mlp: skipped: plugin 'no_such_layer' not installed" in printed
    results = json.loads(out.read_text())
    assert results["workloads"]["mlp"]["missing"][0] == "no_such_layer"
    seed = results["workloads"]["seed"]
    assert seed["status"] == "ok" and seed["minikeras"]["train"]["median"] > 0
    assert seed["minikeras"]["loss_after"] < seed["minikeras"]["loss_before"]
