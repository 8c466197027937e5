"""The Lab charts' text alternatives: what each chart in ui.lab.charts shows, in numbers.

A screen reader gets nothing from Plotly's SVG, so every figure has a ``*_summary`` twin here, shown
under the chart. Pure functions of plain data, no Streamlit calls.
"""

from __future__ import annotations

from core.runs.stats import Accuracy
from core.train.events import best_epoch


def _pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.0f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x:.3g}"


def smooth(values: list[float], alpha: float = 0.8) -> list[float]:
    """Exponential moving average (the usual TensorBoard-style smoothing of a noisy batch loss)."""
    out, s = [], None
    for v in values:
        s = v if s is None else alpha * s + (1 - alpha) * v
        out.append(s)
    return out


def _of(epochs: list[dict], total_epochs: int | None) -> str:
    return f"Epoch {epochs[-1]['epoch']} of {total_epochs or epochs[-1]['epoch']}"


def loss_summary(epochs: list[dict], batches: list[dict], total_epochs: int | None = None) -> str:
    if not epochs:
        if not batches:
            return "Loss: no batch trained yet."
        last = batches[-1]
        return (
            f"Loss: epoch {last['epoch']} under way, latest training loss per batch "
            f"{_num(smooth([b['loss'] for b in batches])[-1])} (smoothed)."
        )
    last, best = epochs[-1], best_epoch(epochs)
    text = (
        f"Loss, {_of(epochs, total_epochs)}: training {_num(last['train_loss'])}, validation {_num(last['val_loss'])}"
    )
    if best is not None:
        text += f"; lowest validation loss {_num(best['val_loss'])} at epoch {best['epoch']}"
    return text + "."


def _interval(acc: float | None, n: int | None) -> str:
    return f", 95% interval {Accuracy.of(acc, n).band()}" if n and acc is not None and acc == acc else ""


def accuracy_summary(epochs: list[dict], total_epochs: int | None = None, val_n: int | None = None) -> str:
    if not epochs:
        return "Accuracy: no epoch finished yet."
    last, best = epochs[-1], best_epoch(epochs)
    gap = 100 * (last["train_acc"] - last["val_acc"])
    text = (
        f"Accuracy, {_of(epochs, total_epochs)}: training {_pct(last['train_acc'])}, validation "
        f"{_pct(last['val_acc'])}{_interval(last['val_acc'], val_n)} (gap {gap:+.0f} points)"
    )
    if best is not None:
        text += f"; best validation loss at epoch {best['epoch']} (validation accuracy {_pct(best['val_acc'])})"
    return text + "."


def trainable_summary(epochs: list[dict], total_epochs: int | None = None) -> str:
    if not epochs:
        return "Trainable parameters: no epoch finished yet."
    steps, last = [], None
    for e in epochs:
        if e["trainable_params"] != last:
            steps.append(f"{e['trainable_params']:,} from epoch {e['epoch']}")
            last = e["trainable_params"]
    return f"Trainable parameters, {_of(epochs, total_epochs)}: " + "; ".join(steps) + "."


def weight_change_summary(epochs: list[dict], total_epochs: int | None = None) -> str:
    change = epochs[-1].get("weight_change", {}) if epochs else {}
    if not change:
        return "Weight change per group: no epoch finished yet."
    ranked = sorted(change.items(), key=lambda kv: -kv[1])
    return (
        f"Weight change relative to the start, {_of(epochs, total_epochs)}, largest first: "
        + ", ".join(f"{g} {_num(v)}" for g, v in ranked)
        + "."
    )


def overlay_summary(
    curves: list[tuple[str, list[dict]]],
    key: str = "val_acc",
    title: str = "Validation accuracy (%)",
    val_n: dict[str, int] | None = None,
) -> str:
    shown = [(label, epochs) for label, epochs in curves if epochs]
    if not shown:
        return f"{title}: no run has finished an epoch yet."
    fmt = _pct if key.endswith("acc") else _num
    name = title.replace(" (%)", "")

    def one(label: str, last: dict) -> str:
        band = _interval(last.get(key), (val_n or {}).get(label)) if key == "val_acc" else ""
        return f"{label} {fmt(last.get(key))}{band} (epoch {last['epoch']})"

    return f"{name} at each run's last epoch: " + "; ".join(one(label, epochs[-1]) for label, epochs in shown) + "."


def params_summary(rows: list[tuple[str, int, bool]]) -> str:
    total = sum(r[1] for r in rows)
    trainable = [r for r in rows if r[2]]
    frozen = [r[0] for r in rows if not r[2]]
    text = f"{total:,} parameters in {len(rows)} groups; {sum(r[1] for r in trainable):,} trainable"
    text += f" ({', '.join(f'{r[0]} {r[1]:,}' for r in trainable)})" if trainable else " (every group frozen)"
    return text + (f"; frozen: {', '.join(frozen)}." if frozen else "; nothing frozen.")


def lr_finder_summary(lrs: list[float], losses: list[float], suggested: float | None) -> str:
    if not lrs or not losses:
        return "LR range test: no measurement."
    low = min(range(len(losses)), key=losses.__getitem__)
    text = (
        f"LR range test from {lrs[0]:.0e} to {lrs[-1]:.0e}: lowest smoothed loss {_num(losses[low])} at "
        f"learning rate {lrs[low]:.0e}"
    )
    return text + (f"; suggested {suggested:.0e}." if suggested else "; no suggestion.")
