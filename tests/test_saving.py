"""Saving and loading: one pickle-free file, atomic writes, exact continuation, clear errors."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core import SaveFormatError, UnknownPluginError, load_model
from minikeras_core.callbacks import LearningRateScheduler


def build(dtype="float64", optimizer="sgd", metrics=("accuracy",), seed=0):
    model = mk.Sequential(seed=seed, dtype=dtype)
    model.add("flatten", input_size=(2, 3))
    model.add("dense", units=5, activation="relu")
    model.add("dense", units=4, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer=optimizer, metrics=list(metrics))
    return model


def data(n=20, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2, 3)), rng.integers(0, 4, size=n)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predictions_equal_after_load(tmp_path, dtype):
    X, y = data()
    model = build(dtype)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.mk"
    model.save(path)
    loaded = load_model(path)
    assert loaded.dtype == np.dtype(dtype) and [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y) == model.evaluate(X, y)
    assert [m.name for m in loaded.metrics] == ["accuracy"]


@pytest.mark.parametrize("optimizer", mk.list_plugins("optimizer"))
def test_training_continued_after_load_matches_uninterrupted_training(tmp_path, optimizer):
    X, y = data(30)
    schedule = LearningRateScheduler(lambda epoch, lr: lr * 0.9)  # the rate in force must be saved too
    straight = build(optimizer=optimizer)
    full = straight.fit(X, y, epochs=4, batch_size=8, verbose=0, callbacks=[schedule])

    first = build(optimizer=optimizer)
    head = first.fit(X, y, epochs=2, batch_size=8, verbose=0, callbacks=[schedule])
    path = tmp_path / "half.mk"
    first.save(path)
    del first
    resumed = load_model(path)
    tail = resumed.fit(X, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0, callbacks=[schedule])

    assert tail.epoch == [2, 3]
    for key in full.history:
        np.testing.assert_allclose(head.history[key] + tail.history[key], full.history[key], rtol=0, atol=1e-6)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert resumed.optimizer.iterations == straight.optimizer.iterations


def test_get_config_round_trip_is_json_and_rebuilds_through_the_registry():
    model = build()
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config
    assert [layer["class_name"] for layer in config["layers"]] == ["flatten", "dense", "dense"]
    clone = mk.Sequential.from_config(config)
    assert clone.get_config() == config
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    # same seed, same initialisation
    for a, b in zip(clone.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_weights_and_load_weights(tmp_path):
    X, y = data()
    model = build()
    model.fit(X, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.mk")
    other = build(seed=9)
    assert not np.allclose(other.predict(X), model.predict(X))
    other.load_weights(tmp_path / "w.mk")
    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    wrong = mk.Sequential(seed=0)
    wrong.add("dense", units=3, input_size=(6,))
    with pytest.raises(ValueError, match="w.mk: its weights do not fit this model"):
        wrong.load_weights(tmp_path / "w.mk")
    with pytest.raises(SaveFormatError, match="holds only weights"):
        load_model(tmp_path / "w.mk")


def saved(tmp_path, name="model.mk"):
    X, y = data()
    model = build()
    model.fit(X, y, epochs=1, verbose=0)
    path = tmp_path / name
    model.save(path)
    return model, path


def test_an_interrupted_rename_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    model, path = saved(tmp_path)
    before = path.read_bytes()
    model.fit(*data(), epochs=1, verbose=0)

    def crash(*args):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.mk"]  # no temporary file left behind


def test_a_crash_mid_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    model, path = saved(tmp_path)
    before = path.read_bytes()
    calls = []
    real = np.lib.format.write_array

    def write_then_die(stream, array, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            stream.write(b"\x93NUMPY partial")
            raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the third array
        return real(stream, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.mk"]
    np.testing.assert_array_equal(load_model(path).predict(data()[0]), mk.load_model(path).predict(data()[0]))


def test_truncated_corrupt_and_foreign_files_give_clear_errors(tmp_path):
    _, path = saved(tmp_path)
    blob = path.read_bytes()

    truncated = tmp_path / "truncated.mk"
    truncated.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(SaveFormatError, match=r"truncated\.mk: the file is truncated or corrupt"):
        load_model(truncated)

    # flip bytes inside the last weight array: the zip's CRC catches it
    corrupt = tmp_path / "corrupt.mk"
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(sorted(archive.namelist())[-2])
    offset = info.header_offset + 30 + len(info.filename) + 140
    damaged = bytearray(blob)
    damaged[offset : offset + 8] = bytes(b ^ 0xFF for b in damaged[offset : offset + 8])
    corrupt.write_bytes(bytes(damaged))
    with pytest.raises(SaveFormatError, match=r"corrupt\.mk: the file is corrupt"):
        load_model(corrupt)

    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SaveFormatError, match=r"notes\.txt: not a Mini-Keras file"):
        load_model(text)

    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.zeros(3))
    with pytest.raises(SaveFormatError, match=r"arrays\.npz: a zip archive but not a Mini-Keras file"):
        load_model(npz)

    with pytest.raises(FileNotFoundError, match="missing.mk"):
        load_model(tmp_path / "missing.mk")


def rewrite_header(path, target, change):
    """Copy the archive at ``path`` to ``target`` with ``change(header)`` applied."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for name in source.namelist():
            payload = source.read(name)
            if name == "minikeras.json":
                header = json.loads(payload)
                change(header)
                payload = json.dumps(header).encode()
            out.writestr(name, payload)


def test_an_incompatible_format_version_says_so(tmp_path):
    _, path = saved(tmp_path)
    future = tmp_path / "future.mk"
    rewrite_header(path, future, lambda h: h.update(format_version=99))
    with pytest.raises(SaveFormatError, match=r"future\.mk: written in Mini-Keras file format version 99.*reads format version 1; upgrade"):
        load_model(future)


def test_a_missing_plugin_is_named_with_its_kind(tmp_path):
    class Doubler(mk.Layer):
        def compute_output_shape(self, input_shape):
            return input_shape

        def call(self, X, training=False):
            return 2 * X

        def call_backward(self, grad):
            return 2 * grad

    mk.register("layer", "doubler_for_test", Doubler, override=True)
    try:
        model = mk.Sequential(seed=0)
        model.add("dense", units=3, input_size=(2,))
        model.add("doubler_for_test")
        model.compile("categorical_cross_entropy")
        model.save(tmp_path / "custom.mk")
        np.testing.assert_array_equal(load_model(tmp_path / "custom.mk").predict(np.ones((1, 2))), model.predict(np.ones((1, 2))))
    finally:
        mk.registry.REGISTRY.unregister("layer", "doubler_for_test")
    with pytest.raises(UnknownPluginError, match=r"custom\.mk: the model needs the layer plugin 'doubler_for_test', which is not installed"):
        load_model(tmp_path / "custom.mk")


def test_loading_never_unpickles(tmp_path, monkeypatch):
    _, path = saved(tmp_path)

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle was called while loading")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    model = load_model(path)
    model.load_weights(path)

    # an object array (which only pickle could hold) is refused, not unpickled
    evil = tmp_path / "evil.mk"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(evil, "w") as out:
        for name in source.namelist():
            out.writestr(name, source.read(name))
        with out.open("arrays/99999.npy", "w") as stream:
            np.lib.format.write_array(stream, np.array([None, 1], dtype=object), allow_pickle=True)  # pickles on write
    rewrite_header(evil, tmp_path / "evil2.mk", lambda h: h["weights"][0].update(array="arrays/99999.npy"))
    with pytest.raises(SaveFormatError, match=r"evil2\.mk: the file is corrupt: array 'arrays/99999.npy' cannot be read \(Object arrays cannot be loaded"):
        load_model(tmp_path / "evil2.mk")


def test_the_file_holds_only_json_and_numeric_npy_members(tmp_path):
    _, path = saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names[0] == "minikeras.json" and all(n.startswith("arrays/") and n.endswith(".npy") for n in names[1:])
        header = json.loads(archive.read("minikeras.json"))
        assert header["format"] == "minikeras" and header["format_version"] == 1 and header["content"] == "model"
        assert header["compile"]["optimizer"]["class_name"] == "gradient_descent" or header["compile"]["optimizer"]["class_name"] == "sgd"
        for name in names[1:]:
            assert np.lib.format.read_array(io.BytesIO(archive.read(name)), allow_pickle=False).dtype.kind == "f"
