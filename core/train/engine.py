"""The training engine: one fine-tune, from a config to an evaluated model, emitting events.

``run_training`` reads like fastai's fit: set up, then per epoch open the groups the schedule names, train
one epoch, validate, check early stopping; each step is a small function over the ``_Run`` holding the
loop's state (parts next door in core.train). A page, a test, the CLI and the benchmarks all call it.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from core.data.datasets import PreparedData, prepare
from core.models import backbones as models
from core.train.config import ConfigError, TrainConfig
from core.train.evaluation import evaluate, evaluate_test, recalibrate_bn
from core.train.events import (
    BatchEnded,
    EpochEnded,
    EventSink,
    GroupCount,
    GroupsUnfrozen,
    RunEnded,
    RunStarted,
    best_epoch,
)
from core.train.freezing import cache_plan, caches_train, caches_val, ever_trainable, prefix_end
from core.train.inputs import Inputs, autocast, configure_threads, resolve_device
from core.train.optim import add_groups, make_optimizer
from core.train.precision import grad_scaler
from core.train.result import RunResult
from core.train.schedules import factors, set_rates
from core.train.weight_change import group_vectors, weight_change

# ---- the state of one run -------------------------------------------------------------------------


@dataclass
class _Best:
    """The epoch with the lowest validation loss so far, and (with early stopping) its weights."""

    loss: float = math.inf
    epoch: int | None = None
    state: dict | None = None


@dataclass
class _Run:
    cfg: TrainConfig
    emit: EventSink
    stop: threading.Event
    t_start: float
    device: torch.device
    data: PreparedData
    model: models.GroupedNet
    trainable: set[str]
    inputs: Inputs
    optimizer: torch.optim.Optimizer
    gen: torch.Generator
    batch_size: int
    timings: dict[str, float]
    start_vectors: dict[str, torch.Tensor]
    plan: str  # how the frozen prefix is handled: a core.train.freezing.CACHE_* code
    epochs: list[EpochEnded] = field(default_factory=list)
    batches: list[BatchEnded] = field(default_factory=list)
    images_seen: int = 0
    t_train: float = 0.0
    reason: str = "finished"
    message: str = ""
    best: _Best = field(default_factory=_Best)
    val: tuple[list[int], torch.Tensor | None] = ([], None)  # predictions and probabilities
    scaler: torch.amp.GradScaler | None = None  # enabled only for fp16 (core.train.precision)

    @property
    def steps(self) -> int:
        return max(1, len(self.data.train_y) // self.batch_size)  # fixed batch shapes: the ragged tail is dropped

    def end(self, reason: str, message: str) -> bool:
        self.reason, self.message = reason, message
        return False


# ---- the loop -------------------------------------------------------------------------------------


def run_training(
    cfg: TrainConfig,
    on_event: EventSink | None = None,
    stop: threading.Event | None = None,
    data: PreparedData | None = None,
) -> RunResult:
    """Run one fine-tune, sending core.train.events to `on_event`. Raises ConfigError, DataError or
    WeightsUnavailable (all LearnerErrors) before training starts; never in the middle of a run."""
    cfg.validate()
    run = _set_up(cfg, on_event or (lambda event: None), stop or threading.Event(), data)
    for epoch in range(1, cfg.epochs + 1):
        _unfreeze(run, epoch)
        stats = _train_epoch(run, epoch)
        if stats is None or not _validate(run, epoch, stats) or _early_stop(run, epoch):
            break
    return _finish(run)


def warm_up(cfg: TrainConfig) -> dict[str, float]:
    """Run one epoch of `cfg` and throw it away, so that this process's first real run of `cfg` starts warm.

    The epoch loads the data, the pretrained weights and the frozen prefix's features into this
    process's caches (core.data.datasets, core.models.backbones, core.cache), and makes torch's first calls of each layer.
    Measured on the 2-core CPU with bench/default_run.py's config, a worker's first run spent about
    1.8 s more than its second: 1.4 s of data, weights and features, and the rest in those first calls.
    A training worker runs this before its first task (core.jobs.workers), so the first learner who presses
    Start does not wait for it.

    Every run seeds itself (`_set_up`), so the runs after this one give the same numbers as without it.
    Returns the epoch's timings."""
    first_epoch = {e: groups for e, groups in cfg.unfreeze_at.items() if e == 1}
    return run_training(replace(cfg, epochs=1, early_stopping=0, unfreeze_at=first_epoch)).timings


def _set_up(cfg: TrainConfig, emit: EventSink, stop: threading.Event, data: PreparedData | None) -> _Run:
    """Data, model, frozen-prefix inputs and optimizer; announces the run with RunStarted."""
    configure_threads()
    t_start, timings = time.perf_counter(), {}
    device = resolve_device(cfg.device)
    t = time.perf_counter()
    data = data or prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    timings["data_s"] = time.perf_counter() - t

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    t = time.perf_counter()
    model = _build_model(cfg, data.num_classes, device)
    timings["model_s"] = time.perf_counter() - t

    cut = prefix_end(model.group_names, ever_trainable(cfg))
    plan = cache_plan(cut, cfg.frozen_bn_eval, cfg.augment, cfg.use_cache)
    inputs = Inputs(cfg, model, data, device, cut, caches_train(plan), caches_val(plan), timings)
    batch_size = max(1, min(int(cfg.batch_size), len(data.train_y)))
    trainable = _first_trainable(cfg)
    run = _Run(
        cfg,
        emit,
        stop,
        t_start,
        device,
        data,
        model,
        trainable,
        inputs,
        make_optimizer(cfg, model, trainable),
        gen,
        batch_size,
        timings,
        group_vectors(model),
        plan,
    )
    run.scaler = grad_scaler(device)
    _announce(run)
    return run


def _build_model(cfg: TrainConfig, num_classes: int, device: torch.device) -> models.GroupedNet:
    model = models.fresh_model(cfg.model, num_classes, cfg.pretrained, cfg.seed)
    unknown = ever_trainable(cfg) - set(model.group_names)
    if unknown:
        raise ConfigError(f"Unknown layer group(s) {sorted(unknown)}; {cfg.model} has {model.group_names}.")
    if not _first_trainable(cfg):
        raise ConfigError(
            f"Nothing trains in epoch 1: no group is trainable at the start, and the schedule opens "
            f"groups only from epoch {min(cfg.unfreeze_at)}. Switch on the head for the start."
        )
    models.set_trainable(model, _first_trainable(cfg))
    return model.to(device).to(memory_format=torch.channels_last)


def _first_trainable(cfg: TrainConfig) -> set[str]:
    """Groups that train from the first epoch (the schedule may open some at epoch 1 too)."""
    return set(cfg.trainable) | set(cfg.unfreeze_at.get(1, ()))


def _announce(run: _Run) -> None:
    data, model, cut = run.data, run.model, run.inputs.cut
    notes = list(data.notes)
    if run.batch_size < run.cfg.batch_size:
        notes.append(f"batch size lowered to {run.batch_size}: the training set has only {len(data.train_y)} images")
    train_params, total_params = models.count_params(model)
    groups = tuple(GroupCount(g.name, g.total, g.trainable) for g in models.group_table(model))
    run.emit(
        RunStarted(
            str(run.device),
            len(data.train_y),
            len(data.val_y),
            tuple(data.class_names),
            run.plan,
            tuple(model.group_names[:cut]),
            train_params,
            total_params,
            tuple(notes),
            groups,
            time.perf_counter() - run.t_start,
        )
    )
    run.t_train = time.perf_counter()
    run.timings["train_s"] = run.timings["eval_s"] = 0.0


def _unfreeze(run: _Run, epoch: int) -> None:
    """Open the groups the schedule names for this epoch. They join the running optimizer, so the
    groups already training keep their state (Adam's moment estimates)."""
    opening = run.cfg.unfreeze_at.get(epoch)
    if not opening or epoch == 1:  # epoch 1's groups train from the start
        return
    run.trainable |= set(opening)
    models.set_trainable(run.model, run.trainable)
    add_groups(run.optimizer, run.cfg, run.model, opening)
    run.emit(GroupsUnfrozen(epoch, tuple(opening)))


def _train_epoch(run: _Run, epoch: int) -> tuple[float, float] | None:
    """One pass over the training set: (mean loss, accuracy), or None when the run stopped or diverged."""
    cfg, data, model = run.cfg, run.data, run.model
    models.train_mode(model, cfg.frozen_bn_eval)
    perm = torch.randperm(len(data.train_y), generator=run.gen)
    loss_sum, correct, seen = 0.0, 0, 0
    t_epoch = time.perf_counter()
    try:
        for step in range(run.steps):
            if run.stop.is_set():
                run.end("stopped", f"Stopped by request during epoch {epoch}.")
                return None
            idx = perm[step * run.batch_size : (step + 1) * run.batch_size]
            lrs = _scheduled_rates(run, epoch, step)
            loss, hits = _train_step(run, idx)
            if not math.isfinite(loss):
                run.end(
                    "diverged",
                    f"Training diverged in epoch {epoch}: the loss became {loss}. The learning "
                    f"rate ({cfg.lr:g}) is most likely too high for these layers; try 10x smaller "
                    f"(1e-3 or 1e-4 suit fine-tuning).",
                )
                return None
            loss_sum, correct, seen = loss_sum + loss * len(idx), correct + hits, seen + len(idx)
            _report_batch(run, epoch, step, loss, hits / len(idx), len(idx), lrs)
    finally:
        run.timings["train_s"] += time.perf_counter() - t_epoch
    return loss_sum / max(seen, 1), correct / max(seen, 1)


def _scheduled_rates(run: _Run, epoch: int, step: int) -> dict[str, float]:
    """Set every group's rate for this step: its own peak x the schedule's factor (core.train.schedules).
    A constant schedule's factor is exactly 1.0, so its rates, and runs, are as before."""
    curve = factors(run.cfg.schedule, run.cfg.epochs * run.steps, run.cfg.warmup)  # cached per run shape
    return set_rates(run.optimizer, curve[(epoch - 1) * run.steps + step])


def _train_step(run: _Run, idx: torch.Tensor) -> tuple[float, int]:
    """Forward, backward and update on one batch: (loss, correct predictions). A non-finite loss
    is returned before the update, so the weights keep their last finite values."""
    yb = run.data.train_y[idx].to(run.device)
    xb = run.inputs.train_batch(idx, run.gen)
    with autocast(run.device):
        logits = run.model.forward_from(xb, run.inputs.cut).float()
    loss = F.cross_entropy(logits, yb)
    if not torch.isfinite(loss):
        return loss.item(), 0
    run.optimizer.zero_grad(set_to_none=True)
    scaler = run.scaler or grad_scaler(run.device)
    scaler.scale(loss).backward()
    scaler.step(run.optimizer)  # skipped when fp16 gradients overflowed; the scale then shrinks
    scaler.update()
    return loss.item(), int((logits.argmax(1) == yb).sum())


def _report_batch(run: _Run, epoch: int, step: int, loss: float, acc: float, n: int, lrs: dict[str, float]) -> None:
    run.images_seen += n
    row = BatchEnded(
        epoch,
        step + 1,
        run.steps,
        (epoch - 1) * run.steps + step + 1,
        loss,
        acc,
        run.images_seen / max(time.perf_counter() - run.t_train, 1e-9),
        time.perf_counter() - run.t_start,
        lrs,
    )
    run.batches.append(row)
    run.emit(row)


def _validate(run: _Run, epoch: int, train: tuple[float, float]) -> bool:
    """Precise BN and the validation pass; reports EpochEnded. False when the run ends here."""
    run.inputs.ensure_val_features()  # first epoch only: timed as cache_s, not eval_s
    t_eval = time.perf_counter()
    if run.cfg.precise_bn:
        recalibrate_bn(run.model, run.inputs, run.trainable, len(run.data.train_y), run.device, stop=run.stop)
    ev = evaluate(run.model, run.inputs, run.data.val_y, run.device, stop=run.stop)
    run.timings["eval_s"] += time.perf_counter() - t_eval
    if run.stop.is_set():
        run.val = ([], None)
        return run.end("stopped", f"Stopped by request at the end of epoch {epoch}.")
    run.val = (ev.pred, ev.probs)
    _report_epoch(run, epoch, train, ev.loss, ev.acc)
    if not math.isfinite(ev.loss):
        return run.end(
            "diverged",
            f"The validation loss became {ev.loss} in epoch {epoch}: the weights blew "
            f"up. The learning rate ({run.cfg.lr:g}) is most likely too high; try 10x smaller.",
        )
    return True


def _report_epoch(run: _Run, epoch: int, train: tuple[float, float], val_loss: float, val_acc: float) -> None:
    model = run.model
    tp, tot = models.count_params(model)
    row = EpochEnded(
        epoch,
        run.cfg.epochs,
        train[0],
        train[1],
        val_loss,
        val_acc,
        tp,
        tot,
        tuple(sorted(run.trainable, key=model.group_names.index)),
        weight_change(model, run.start_vectors),
        {g["name"]: g["lr"] for g in run.optimizer.param_groups},
        time.perf_counter() - run.t_start,
        run.images_seen / max(time.perf_counter() - run.t_train, 1e-9),
    )
    run.epochs.append(row)
    run.emit(row)


def _early_stop(run: _Run, epoch: int) -> bool:
    """Remember the best epoch (its weights, with early stopping on); True once patience runs out."""
    cfg, best = run.cfg, run.best
    lowest = best_epoch(run.epochs)  # the one definition of "best epoch" every view reads too
    if lowest is not None and lowest.epoch == epoch:
        keep = {k: v.detach().clone() for k, v in run.model.state_dict().items()} if cfg.early_stopping else None
        run.best = _Best(lowest.val_loss, epoch, keep)
        return False
    if cfg.early_stopping and best.epoch is not None and epoch - best.epoch >= cfg.early_stopping:
        run.end(
            "early_stopped",
            f"Early stopping after epoch {epoch}: validation loss has not improved for "
            f"{cfg.early_stopping} epochs. Weights restored from epoch {best.epoch}.",
        )
        return True
    return False


def _finish(run: _Run) -> RunResult:
    """Restore the best weights after early stopping, and report RunEnded."""
    if run.reason == "early_stopped" and run.best.state is not None:
        run.model.load_state_dict(run.best.state)
        t_eval = time.perf_counter()
        ev = evaluate(run.model, run.inputs, run.data.val_y, run.device)
        run.val = (ev.pred, ev.probs)
        run.timings["eval_s"] += time.perf_counter() - t_eval
    pred, probs = run.val
    test = _test(run) if pred and run.reason in ("finished", "early_stopped") else None
    run.timings["total_s"] = time.perf_counter() - run.t_start
    message = run.message or f"Finished {run.cfg.epochs} epochs."
    result = RunResult(
        run.reason,
        message,
        run.cfg,
        run.data.class_names,
        run.epochs,
        run.batches,
        run.data.val_y.tolist() if pred else [],
        pred,
        run.best.epoch,
        str(run.device),
        {k: round(v, 3) for k, v in run.timings.items()},
        run.plan,
        run.model.cpu().eval(),
        probs if pred else None,
        test and test.acc,
        len(test.pred) if test else 0,
    )
    run.emit(RunEnded(result.reason, message, result.summary()))
    return result


def _test(run: _Run):
    """The returned model's score on the held-out test images, measured once: they played no part in
    training or in picking the epoch, so unlike the validation score it is not chosen as the best of several."""
    if run.data.test_y is None or not len(run.data.test_y):
        return None
    t = time.perf_counter()
    ev = evaluate_test(run.model, run.inputs, run.data, run.device)
    run.timings["test_s"] = time.perf_counter() - t
    return ev
