"""``minikeras train CONFIG.json`` and ``History.plot``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core.cli import main
from minikeras_core.datasets import load_digits

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "digits_dense.json"
PNG = b"\x89PNG\r\n\x1a\n"


def test_train_the_sample_config_writes_a_model_load_model_reads(tmp_path, capsys):
    out = tmp_path / "digits.mk"
    assert main(["train", str(SAMPLE), "--output", str(out), "--verbose", "2"]) == 0
    printed = capsys.readouterr().out
    epochs = json.loads(SAMPLE.read_text())["fit"]["epochs"]
    assert f"Epoch {epochs}/{epochs}" in printed and f"Saved the model to {out}" in printed
    model = mk.load_model(out)
    X, y = load_digits()
    X = X / 16.0
    loss, accuracy = model.evaluate(X, y)
    assert accuracy > 0.9  # trained, not just initialised (chance is 0.1)
    assert [m.name for m in model.metrics] == ["accuracy"]


def test_train_with_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    curves = tmp_path / "curves.png"
    assert main(["train", str(SAMPLE), "-o", str(tmp_path / "m.mk"), "--verbose", "0", "--plot", str(curves)]) == 0
    assert curves.read_bytes()[:8] == PNG


def test_train_on_arrays_from_an_npz(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float64)
    np.savez(tmp_path / "data.npz", features=X, labels=y, x_val=X[:8], y_val=y[:8])
    config = {
        "seed": 1,
        "dtype": "float64",
        "data": {"path": "data.npz", "x": "features", "y": "labels"},
        "layers": [{"type": "dense", "units": 1, "activation": "sigmoid", "input_size": [3]}],
        "loss": "binary_cross_entropy",
        "optimizer": {"type": "sgd", "learning_rate": 0.5},
        "metrics": ["binary_accuracy", {"type": "mse", "name": "mse"}],
        "fit": {"epochs": 20, "batch_size": 8, "verbose": 0},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    from minikeras_core.train import train_from_config

    model, history, saved = train_from_config(path, output=str(tmp_path / "out.mk"), summary=False)
    assert list(history.history) == ["loss", "binary_accuracy", "mse", "val_loss", "val_binary_accuracy", "val_mse"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    np.testing.assert_array_equal(mk.load_model(saved).predict(X), model.predict(X))


def test_a_bad_config_gives_a_message_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"layers": [{"type": "densse", "units": 2, "input_size": [3]}], "loss": "binary_cross_entropy"}))
    assert main(["train", str(path)]) == 2
    assert "unknown layer 'densse'; did you mean 'dense'" in capsys.readouterr().err


def block_matplotlib(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError


def test_missing_matplotlib_gives_a_clear_message(tmp_path, monkeypatch, capsys):
    history = mk.History()
    history.history = {"loss": [1.0, 0.5]}
    block_matplotlib(monkeypatch)
    with pytest.raises(ImportError, match=r"needs matplotlib, which is not installed: pip install 'minikeras-core\[plot\]'"):
        history.plot(tmp_path / "c.png")
    # the command checks before training, so no time is wasted
    assert main(["train", str(SAMPLE), "-o", str(tmp_path / "m.mk"), "--plot", str(tmp_path / "c.png")]) == 2
    assert "--plot needs matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "m.mk").exists()


def test_history_plot_draws_one_panel_per_quantity(tmp_path):
    pytest.importorskip("matplotlib")
    history = mk.History()
    history.history = {"loss": [1.0, 0.5, 0.4], "accuracy": [0.5, 0.7, 0.8], "val_loss": [1.1, 0.7, 0.6], "val_accuracy": [0.4, 0.6, 0.7]}
    figure = history.plot(tmp_path / "h.png")
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["loss", "val_loss"]
    np.testing.assert_array_equal(figure.axes[1].get_lines()[1].get_ydata(), [0.4, 0.6, 0.7])
    assert (tmp_path / "h.png").read_bytes()[:8] == PNG
