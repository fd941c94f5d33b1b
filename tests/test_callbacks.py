"""Training events through pluggy, and the built-in callbacks."""

from __future__ import annotations

import csv
import io
import re
import sys
import textwrap

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core import Callback, hookimpl
from minikeras_core.callbacks import (
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    TerminateOnNaN,
)


def small_model(seed: int = 0, dtype: str = "float64", metrics=None, optimizer="sgd") -> mk.Sequential:
    model = mk.Sequential(seed=seed, dtype=dtype)
    model.add("dense", units=5, activation="tanh", input_size=(4,))
    model.add("dense", units=3, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer=optimizer, metrics=metrics)
    return model


def small_data(n: int = 12, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = rng.integers(0, 3, size=n)
    return X, y


class Recorder(Callback):
    """Records every event, into a list it may share with other recorders."""

    def __init__(self, tag: str = "", events: list | None = None) -> None:
        self.tag = tag
        self.events = [] if events is None else events

    def on_train_begin(self, model, logs):
        super().on_train_begin(model, logs)
        self.events.append((self.tag, "train_begin"))

    def on_epoch_begin(self, model, epoch, logs):
        self.events.append((self.tag, "epoch_begin", epoch))

    def on_batch_begin(self, model, batch, logs):
        self.events.append((self.tag, "batch_begin", batch))

    def on_batch_end(self, model, batch, logs):
        self.events.append((self.tag, "batch_end", batch, tuple(logs)))

    def on_epoch_end(self, model, epoch, logs):
        self.events.append((self.tag, "epoch_end", epoch, tuple(logs)))

    def on_train_end(self, model, logs):
        self.events.append((self.tag, "train_end"))

    def on_evaluate_end(self, model, logs):
        self.events.append((self.tag, "evaluate_end", tuple(logs)))


def test_events_arrive_in_keras_order_with_logs():
    model = small_model(metrics=["accuracy"])
    X, y = small_data(8)
    recorder = Recorder()
    model.fit(X, y, epochs=2, batch_size=3, validation_split=0.25, verbose=0, callbacks=[recorder])
    # 8 samples, the last 2 held out: 6 for training in batches of 3 -> 2 batches per epoch
    expected = [("", "train_begin")]
    for epoch in range(2):
        expected.append(("", "epoch_begin", epoch))
        for batch in range(2):
            expected += [("", "batch_begin", batch), ("", "batch_end", batch, ("loss", "accuracy"))]
        expected.append(("", "epoch_end", epoch, ("loss", "accuracy", "val_loss", "val_accuracy")))
    expected.append(("", "train_end"))
    assert recorder.events == expected
    assert recorder.model is model
    model.evaluate(X, y, callbacks=[recorder])
    assert recorder.events[-1] == ("", "evaluate_end", ("loss", "accuracy"))


def test_callbacks_are_called_in_the_order_given_and_history_last():
    events: list = []
    seen_by_history = {}

    class Late(Callback):
        def on_epoch_end(self, model, epoch, logs):
            logs["extra"] = 1.0  # History runs after every given callback, so it records this

    first, second = Recorder("a", events), Recorder("b", events)
    model = small_model()
    X, y = small_data()
    history = model.fit(X, y, epochs=1, batch_size=6, verbose=0, callbacks=[first, Late(), second])
    tags = [e[0] for e in events]
    assert tags == ["a", "b"] * (len(events) // 2)
    seen_by_history.update(history.history)
    assert seen_by_history["extra"] == [1.0]


def test_keras_style_overrides_receive_what_they_name():
    class KerasStyle(Callback):
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append((epoch, None if logs is None else sorted(logs), self.model is not None))

        def on_train_end(self, logs=None, **rest):
            self.seen.append(("end", sorted(rest)))

    callback = KerasStyle()
    small_model().fit(*small_data(), epochs=2, verbose=0, callbacks=[callback])
    assert callback.seen == [(0, ["loss"], True), (1, ["loss"], True), ("end", ["model"])]


def test_a_plain_pluggy_plugin_is_a_callback():
    class Plain:
        def __init__(self):
            self.epochs = []

        @hookimpl
        def on_epoch_end(self, model, epoch, logs):
            self.epochs.append(epoch)

    plain = Plain()
    small_model().fit(*small_data(), epochs=3, verbose=0, callbacks=[plain])
    assert plain.epochs == [0, 1, 2]


@pytest.fixture
def installed_callback(tmp_path, monkeypatch):
    """A distribution on sys.path providing a callback through the minikeras.callbacks entry point."""
    (tmp_path / "mk_test_cb_plugin.py").write_text(
        textwrap.dedent(
            """
            from minikeras_core import Callback

            CALLS = []

            class EpochCounter(Callback):
                def on_epoch_end(self, model, epoch, logs):
                    CALLS.append(("epoch_end", epoch))

                def on_evaluate_end(self, model, logs):
                    CALLS.append(("evaluate_end",))
            """
        )
    )
    dist = tmp_path / "mk_test_cb_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mk-test-cb-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[minikeras.callbacks]\nepoch_counter = mk_test_cb_plugin:EpochCounter\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mk.refresh()  # installed while the process runs: read the entry points again, as a user would
    import mk_test_cb_plugin

    mk_test_cb_plugin.CALLS.clear()
    yield mk_test_cb_plugin.CALLS
    sys.modules.pop("mk_test_cb_plugin", None)
    mk.refresh()


def test_an_installed_callback_joins_every_fit_and_the_switch_turns_it_off(installed_callback, monkeypatch):
    calls = installed_callback
    model = small_model()
    X, y = small_data()
    model.fit(X, y, epochs=2, verbose=0)
    model.evaluate(X, y)
    assert calls == [("epoch_end", 0), ("epoch_end", 1), ("evaluate_end",)]

    calls.clear()
    monkeypatch.setenv("MINIKERAS_DISABLE_PLUGIN_AUTOLOAD", "1")
    model.fit(X, y, epochs=2, verbose=0)
    model.evaluate(X, y)
    assert calls == []


class Scripted(Callback):
    """Puts a scripted ``score`` into each epoch's logs and keeps the weights at each epoch end."""

    def __init__(self, scores):
        self.scores = scores
        self.weights = []

    def on_epoch_end(self, model, epoch, logs):
        logs["score"] = self.scores[epoch]
        self.weights.append(model.get_weights())


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    scores = [3.0, 2.0, 1.0, 1.5, 1.2, 0.1, 0.1, 0.1]
    script = Scripted(scores)
    stopper = EarlyStopping(monitor="score", mode="min", patience=2, restore_best_weights=True)
    model = small_model()
    history = model.fit(*small_data(), epochs=8, batch_size=4, verbose=0, callbacks=[script, stopper])
    # best at epoch 2 (1.0); epochs 3 and 4 do not improve -> stop after epoch 4
    assert history.epoch == [0, 1, 2, 3, 4]
    assert stopper.stopped_epoch == 4 and stopper.best == 1.0 and stopper.best_epoch == 2
    for final, best in zip(model.get_weights(), script.weights[2]):
        np.testing.assert_array_equal(final, best)
    assert not np.allclose(script.weights[4][0], script.weights[2][0])


def test_early_stopping_min_delta_and_inferred_mode():
    # min_delta 0.5: 2.0 -> 1.8 is not an improvement, so patience 1 stops at epoch 1
    script = Scripted([2.0, 1.8, 0.0, 0.0])
    history = small_model().fit(*small_data(), epochs=4, verbose=0, callbacks=[script, EarlyStopping("score", min_delta=0.5, mode="min")])
    assert history.epoch == [0, 1]
    # an accuracy is maximised, a loss minimised; an unknown name needs an explicit mode
    model = small_model(metrics=["accuracy"])
    stopper = EarlyStopping("val_accuracy")
    stopper.on_train_begin(model, {})
    assert stopper._mode == "max"
    stopper = EarlyStopping("val_loss")
    stopper.on_train_begin(model, {})
    assert stopper._mode == "min"
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        EarlyStopping("score").on_train_begin(model, {})


def test_model_checkpoint_writes_only_on_improvement(tmp_path):
    script = Scripted([3.0, 1.0, 2.0, 0.5])
    checkpoint = ModelCheckpoint(tmp_path / "ckpt-{epoch}.mk", monitor="score", mode="min", save_best_only=True)
    model = small_model()
    model.fit(*small_data(), epochs=4, verbose=0, callbacks=[script, checkpoint])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-1.mk", "ckpt-2.mk", "ckpt-4.mk"]
    restored = mk.load_model(tmp_path / "ckpt-2.mk")
    for saved, kept in zip(restored.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(saved, kept)


def test_model_checkpoint_same_path_keeps_the_best(tmp_path):
    script = Scripted([1.0, 2.0, 3.0])
    path = tmp_path / "best.mk"
    model = small_model()
    model.fit(*small_data(), epochs=3, verbose=0, callbacks=[script, ModelCheckpoint(path, monitor="score", mode="min", save_best_only=True)])
    for saved, kept in zip(mk.load_model(path).get_weights(), script.weights[0]):
        np.testing.assert_array_equal(saved, kept)
    # without save_best_only every epoch is written; weights only on request
    model.fit(*small_data(), epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "w.mk", save_weights_only=True)])
    fresh = small_model(seed=5)
    fresh.load_weights(tmp_path / "w.mk")
    np.testing.assert_array_equal(fresh.predict(small_data()[0]), model.predict(small_data()[0]))


def test_model_checkpoint_creates_missing_folders_and_fills_keras_placeholders(tmp_path):
    script = Scripted([0.25, 0.125])
    pattern = tmp_path / "runs" / "a" / "ckpt-{epoch:02d}-{score:.2f}.mk"
    small_model().fit(*small_data(), epochs=2, verbose=0, callbacks=[script, ModelCheckpoint(pattern, monitor="score", mode="min")])
    assert sorted(p.name for p in (tmp_path / "runs" / "a").iterdir()) == ["ckpt-01-0.25.mk", "ckpt-02-0.12.mk"]


def test_model_checkpoint_initial_value_threshold_and_save_freq(tmp_path):
    script = Scripted([3.0, 1.0, 2.0])
    checkpoint = ModelCheckpoint(tmp_path / "c{epoch}.mk", monitor="score", mode="min", save_best_only=True, initial_value_threshold=1.5)
    small_model().fit(*small_data(), epochs=3, verbose=0, callbacks=[script, checkpoint])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c2.mk"]  # 3.0 does not beat the threshold 1.5; 1.0 does
    with pytest.raises(ValueError, match="save_freq must be 'epoch'"):
        ModelCheckpoint(tmp_path / "x.mk", save_freq=10)


def test_csv_logger_writes_history_rows(tmp_path):
    path = tmp_path / "log.csv"
    model = small_model(metrics=["accuracy"])
    history = model.fit(*small_data(), epochs=3, validation_split=0.25, verbose=0, callbacks=[CSVLogger(path)])
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose([float(r[key]) for r in rows], history.history[key], rtol=1e-12)
    model.fit(*small_data(), epochs=1, verbose=0, callbacks=[CSVLogger(path, append=True)])
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 5 and lines[0].startswith("epoch")


class PoisonAt(Callback):
    """Sets a weight to NaN after batch ``batch`` of epoch ``epoch`` (so the next batch's loss is NaN)."""

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_epoch_begin(self, model, epoch, logs):
        self.epoch = epoch

    def on_batch_end(self, model, batch, logs):
        if (self.epoch, batch) == self.at:
            model.layers[0].params["kernel"][0, 0] = np.nan


def test_terminate_on_nan_stops_quietly(capsys):
    stopper = TerminateOnNaN()
    history = small_model().fit(*small_data(12), epochs=5, batch_size=3, verbose=0, callbacks=[PoisonAt(1, 0), stopper])
    assert stopper.terminated_at == (1, 1)
    assert history.epoch == [0, 1] and np.isnan(history.history["loss"][1])
    assert "Epoch 2, batch 2: invalid loss" in capsys.readouterr().out


def test_learning_rate_scheduler_sets_and_logs_the_rate():
    X, y = small_data()
    scheduled = small_model()
    history = scheduled.fit(X, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    # the same steps by hand: one epoch at a time with the rate set explicitly
    manual = small_model()
    for epoch in range(3):
        manual.fit(X, y, epochs=1, batch_size=4, shuffle=False, verbose=0, learning_rate=0.1 / (epoch + 1))
    for a, b in zip(scheduled.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # any control character but the newline


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_writes_no_control_characters_when_not_a_terminal(capsys, verbose):
    small_model(metrics=["accuracy"]).fit(*small_data(), epochs=2, batch_size=4, validation_split=0.25, verbose=verbose)
    out = capsys.readouterr().out
    assert out and not CONTROL.search(out)
    if verbose == 2:
        lines = out.splitlines()
        assert len(lines) == 2 and lines[0].startswith("Epoch 1/2 - 3/3 - ") and "val_accuracy" in lines[0]
    else:
        assert out.splitlines()[0] == "Epoch 1/2" and "3/3 [==============================]" in out


def test_progress_bar_redraws_in_place_on_a_terminal_and_is_silent_at_verbose_0(capsys):
    stream = FakeTerminal()
    bar = ProgbarLogger(1, stream=stream)
    bar.set_params({"verbose": 1, "epochs": 1, "steps": 3})
    bar.on_epoch_begin(None, 0, {})
    for batch in range(3):
        bar.on_batch_end(None, batch, {"loss": 0.5})
    bar.on_epoch_end(None, 0, {"loss": 0.5, "val_loss": 0.7})
    text = stream.getvalue()
    assert text.count("\r") == 4 and "1/3 [=========>" in text and text.endswith("val_loss: 0.7000\n")
    small_model().fit(*small_data(), epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_installed_callback_entry_points_are_read_once_until_refresh(monkeypatch):
    import importlib_metadata

    from minikeras_core.hooks import installed_callbacks

    reads = []
    real = importlib_metadata.entry_points

    def counting(**kwargs):
        reads.append(kwargs.get("group"))
        return real(**kwargs)

    monkeypatch.setattr(importlib_metadata, "entry_points", counting)
    mk.refresh()
    for _ in range(3):
        installed_callbacks()
    assert reads == ["minikeras.callbacks"]
    mk.refresh()
    installed_callbacks()
    assert reads == ["minikeras.callbacks"] * 2


def test_per_batch_events_reach_only_the_callbacks_that_implement_them():
    from minikeras_core.hooks import does_work, plugin_manager

    class EpochsOnly(Callback):
        def on_epoch_end(self, model, epoch, logs):
            pass

    class BatchEnd(Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    quiet = plugin_manager([EpochsOnly(), mk.History()], installed=False).hook
    assert not does_work(quiet.on_batch_begin) and not does_work(quiet.on_batch_end)
    listening = plugin_manager([EpochsOnly(), BatchEnd()], installed=False).hook
    assert does_work(listening.on_batch_end) and not does_work(listening.on_batch_begin)

    class Module:  # any object with a marked function is a plugin: it counts as work
        @staticmethod
        @hookimpl
        def on_batch_begin(model, batch, logs):
            pass

    assert does_work(plugin_manager([Module()], installed=False).hook.on_batch_begin)
    # In fit, a callback implementing a per-batch event gets it at every batch, with the running logs.
    recorder = Recorder()
    small_model().fit(*small_data(12), epochs=1, batch_size=5, verbose=0, callbacks=[recorder])
    assert [e[:3] for e in recorder.events if e[1].startswith("batch")] == [
        ("", "batch_begin", 0), ("", "batch_end", 0), ("", "batch_begin", 1), ("", "batch_end", 1), ("", "batch_begin", 2), ("", "batch_end", 2)]
