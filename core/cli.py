"""Command line for the engine: `python -m core.cli --dataset mnist --trainable head --epochs 5`.

For classroom preparation (check a demo before the lesson), scripts and benchmarks. Prints one line
per epoch and a summary; `--json` prints the summary as one JSON object on the last line instead.
Every setting's flag, help and choices come from its declaration in core.train.config; values are read
with the same text form a shared link uses (`--unfreeze 3:stage6;5:stage5`, `--group-lr stage6:1e-05`)
and checked by TrainConfig.validate, so a limit reads the same here as in the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from core.errors import LearnerError
from core.lab.presets import PRESETS, preset_config
from core.models import backbones as models
from core.runs.held_out import test_accuracy_words
from core.train.config import (
    DEFAULTS,
    SPECS,
    TYPES,
    ConfigError,
    Spec,
    TrainConfig,
    reason,
)
from core.train.config_text import SYNTAX, format_value, parse_text
from core.train.engine import run_training
from core.train.events import EpochEnded, Event, RunStarted
from core.train.freezing import describe_cache


def _help(name: str, spec: Spec) -> str:
    limits = f"; {reason(spec)}" if spec.lo is not None else ""
    limits = f" ({SYNTAX[TYPES[name]]}){limits}" if TYPES[name] in SYNTAX else limits
    default = DEFAULTS[name]
    shown = ("on" if default else "off") if isinstance(default, bool) else format_value(name, default)
    return f"{spec.help.rstrip('.')}{limits} (default: {shown})".replace("%", "%%")


def _add_setting(p: argparse.ArgumentParser, name: str, spec: Spec) -> None:
    if TYPES[name] is bool:  # a switch: --augment / --no-augment, default: the preset's or the config's
        on, off = spec.cli
        pair = p.add_mutually_exclusive_group()
        pair.add_argument(on, dest=name, action="store_const", const=True, default=None, help=_help(name, spec))
        pair.add_argument(off, dest=name, action="store_const", const=False, help=f"the opposite of {on}")
        return
    kind = TYPES[name] if TYPES[name] in (int, float) else str
    choices = spec.choices() if spec.choices else None
    p.add_argument(
        *spec.cli,
        dest=name,
        type=kind,
        choices=choices,
        default=None,
        help=_help(name, spec),
        metavar=None if choices else {int: "N", float: "X"}.get(kind, "TEXT"),
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.cli", description="Run one fine-tune and report it.")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a lab preset (flags below override it)")
    for name, spec in SPECS.items():
        if spec.cli:
            _add_setting(p, name, spec)
    p.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The preset (or the defaults) with every flag given on top; ConfigError for an unreadable value."""
    cfg = preset_config(args.preset) if args.preset else TrainConfig()
    groups = models.group_names(args.model or cfg.model)
    changes = {}
    for name, spec in SPECS.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            changes[name] = parse_text(name, value, groups) if isinstance(value, str) else value
        except ValueError as exc:
            raise ConfigError(f"{spec.cli[0]} {value!r}: {exc}.") from None
    return replace(cfg, **changes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)

        def show(event: Event) -> None:
            if args.json:
                return
            if isinstance(event, RunStarted):
                print(
                    f"device {event.device}: {event.train_images} training / {event.val_images} "
                    f"validation images, {event.trainable_params:,} of {event.total_params:,} "
                    f"parameters trainable. {describe_cache(event.cache, event.prefix)}"
                )
                for note in event.notes:
                    print(f"note: {note}")
            elif isinstance(event, EpochEnded):
                e = event
                print(
                    f"epoch {e.epoch:>3}/{e.epochs}  train loss {e.train_loss:.3f} acc {e.train_acc:.1%}  "
                    f"val loss {e.val_loss:.3f} acc {e.val_acc:.1%}  {e.images_per_s:.0f} img/s  {e.elapsed:.1f}s"
                )

        result = run_training(cfg, on_event=show)
    except LearnerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = result.summary()
    summary["config"] = cfg.to_dict()
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{result.reason}: {result.message} Final validation accuracy "
            f"{summary['val_acc'] if summary['val_acc'] is None else format(summary['val_acc'], '.1%')} "
            f"in {summary['seconds']}s on {summary['device']}."
        )
        test_line = test_accuracy_words(result, bold="")
        if test_line:
            print(test_line)
    return 0 if result.reason != "diverged" else 3


if __name__ == "__main__":
    sys.exit(main())
