"""Training curves with matplotlib (an optional extra: ``pip install 'minikeras-core[plot]'``)."""

from __future__ import annotations

import os
from typing import Any

PLOT_HINT = "pip install 'minikeras-core[plot]' (or pip install matplotlib)"


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(f"plotting training curves needs matplotlib, which is not installed: {PLOT_HINT}") from err
    return Figure


def plot_history(history: dict[str, list[float]], path: str | os.PathLike | None = None, *, keys: list[str] | None = None, epochs: list[int] | None = None) -> Any:
    """One panel per quantity (``loss``, then each metric), training and ``val_`` curves together.

    ``history`` is ``History.history``; ``keys`` limits the panels (default: every key without
    ``val_``, and ``val_`` keys with no training twin). Saves a PNG (or any format matplotlib
    knows from the extension) to ``path`` when given; returns the ``Figure``. Uses matplotlib's
    object API only, so no display or GUI backend is touched.
    """
    Figure = _figure_class()
    if not history:
        raise ValueError("plot_history: the history is empty (was fit run for at least one epoch?)")
    if keys is None:
        keys = [k for k in history if not k.startswith("val_")]
        keys += [k for k in history if k.startswith("val_") and k[4:] not in history]
    unknown = [k for k in keys if k not in history and f"val_{k}" not in history]
    if unknown:
        raise ValueError(f"plot_history: keys {unknown} are not in the history (it has {sorted(history)})")
    figure = Figure(figsize=(4.5 * len(keys), 3.5), layout="constrained")
    axes = figure.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            if name in history:
                values = history[name]
                x = [e + 1 for e in epochs] if epochs is not None and len(epochs) == len(values) else list(range(1, len(values) + 1))
                ax.plot(x, values, style, marker="o", markersize=3, label=name)
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend()
    if path is not None:
        figure.savefig(os.fspath(path), dpi=100)
    return figure
