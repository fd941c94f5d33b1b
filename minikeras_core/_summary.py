"""The table ``model.summary()`` prints, in Keras's three columns."""

from __future__ import annotations

from typing import Any


def summary_table(name: str, layers: list[Any], total: int, trainable: int | None = None) -> str:
    """``Model: "name"``, one row per layer (``name (Type)``, output shape with the batch as ``None``, parameters), totals."""
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for layer in layers:
        rows.append((f"{layer.name} ({type(layer).__name__})", str((None,) + tuple(layer.output_shape)), f"{layer.count_params():,}"))
    widths = [max(len(r[i]) for r in rows) + 3 for i in range(3)]
    rule = "-" * sum(widths)
    lines = [f'Model: "{name}"', "=" * sum(widths)]
    for i, row in enumerate(rows):
        lines.append("".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        lines.append("=" * sum(widths) if i == 0 else rule)
    lines[-1] = "=" * sum(widths)
    trainable = total if trainable is None else trainable
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}", f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(lines)
