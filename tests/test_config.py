"""The training config is declared once (core.train.config); these tests hold the four places that read the
declaration to it: every field survives a shared link (config -> URL -> config -> URL) and the command
line (flags -> config), and every limit is enforced the same way by validation, links, the CLI and
the Lab's widgets. Issue 12 found them disagreeing (200 epochs vs 30, a link message naming a range it
did not check, a CLI optimizer list of its own).
"""
from __future__ import annotations

import dataclasses

import pytest

from core import cli
from core.lab import links
from core.train.config import LAB_DEFAULT, SPECS, TYPES, ConfigError, TrainConfig
from core.train.config_text import format_value
from tests.helpers import lab_page, run_ok
from ui.lab import state as S

# Values that differ from the Lab's defaults for the fields whose value depends on the model's groups
# (mobilenet_v2: stem, stage1..stage6, head); the other fields' samples are derived from their Spec.
GROUP_SAMPLES = {"trainable": ("stage6", "head"), "unfreeze_at": {3: ("stage5",), 5: ("stage3", "stage4")},
                 "group_lr": {"stage6": 1e-5, "head": 0.01}}


def sample(name: str, base: TrainConfig):
    """A value for `name` that differs from `base`'s and that the Lab can show."""
    if name in GROUP_SAMPLES:
        return GROUP_SAMPLES[name]
    spec, now = SPECS[name], getattr(base, name)
    if TYPES[name] is bool:
        return not now
    if spec.choices:
        return next(c for c in spec.choices() if c != now)
    if spec.steps:
        return next(v for v in reversed(spec.steps) if v != now)
    lo, hi = spec.lab_range()
    return TYPES[name](hi if hi != now else lo)


def link_fields() -> list[str]:
    return [name for name, spec in SPECS.items() if spec.url and name != "model"]  # model: its own test


@pytest.mark.parametrize("name", link_fields())
def test_every_link_setting_round_trips_url_config_url(name):
    cfg = dataclasses.replace(LAB_DEFAULT, **{name: sample(name, LAB_DEFAULT)})
    query = links.config_to_query(cfg)
    assert query == {SPECS[name].url: format_value(name, getattr(cfg, name))}  # only what differs
    back, preset, ignored = links.config_from_query(query)
    assert (back, preset, ignored) == (cfg, "", [])
    assert links.config_to_query(back) == query


@pytest.mark.parametrize("name", link_fields())
def test_emptied_lists_and_preset_bases_survive_a_link(name):
    """Read against a preset, an emptied group list travels as 'none', and each field round-trips."""
    preset = "discriminative-lr"
    base = links.link_base(preset)
    value = {"trainable": (), "unfreeze_at": {}, "group_lr": {}}.get(name, sample(name, base))
    if value == getattr(base, name):
        value = sample(name, LAB_DEFAULT)
    cfg = dataclasses.replace(base, **{name: value})
    query = links.config_to_query(cfg, preset)
    assert query["preset"] == preset and SPECS[name].url in query
    back, got_preset, ignored = links.config_from_query(query)
    assert (back, got_preset, ignored) == (cfg, preset, [])


def test_another_model_in_a_link_carries_its_groups():
    cfg = dataclasses.replace(LAB_DEFAULT, model="resnet18", trainable=("stage4", "head"),
                              unfreeze_at={4: ("stage3",)}, group_lr={"stage4": 1e-4})
    query = links.config_to_query(cfg)
    assert query == {"model": "resnet18", "train": "stage4,head", "unfreeze": "4:stage3", "group_lr": "stage4:0.0001"}
    assert links.config_from_query(query) == (cfg, "", [])


def cli_argv(name: str, value) -> list[str]:
    flags = SPECS[name].cli
    if TYPES[name] is bool:
        return [flags[0] if value else flags[1]]
    return [flags[0], format_value(name, value)]


def from_cli(argv: list[str]) -> TrainConfig:
    return cli.config_from_args(cli.build_parser().parse_args(argv))


@pytest.mark.parametrize("name", list(SPECS))
def test_every_field_can_be_set_from_the_command_line(name):
    assert SPECS[name].cli, f"{name} has no command-line flag"
    base = TrainConfig()
    value = sample(name, base) if name != "device" else "cpu"
    assert from_cli(cli_argv(name, value)) == dataclasses.replace(base, **{name: value})


def test_command_line_starts_from_a_preset_and_knows_all_groups():
    cfg = from_cli(["--preset", "gradual-unfreeze", "--epochs", "7", "--trainable", "all", "--scratch"])
    preset = links.link_base("gradual-unfreeze")
    assert cfg == dataclasses.replace(preset, epochs=7, pretrained=False, trainable=tuple(links.groups_of(preset.model)))
    with pytest.raises(ConfigError, match="--trainable 'layer9': unknown group"):
        from_cli(["--trainable", "layer9"])


# ---- limits: the same in the engine, a link, the command line and the Lab's widgets ----------------------

def limited_fields() -> list[str]:
    return [n for n, s in SPECS.items() if s.lo is not None and TYPES[n] in (int, float, dict[str, float])]


def probes(name: str) -> list:
    """Values at and just beyond the engine's and the Lab's limits."""
    spec, kind = SPECS[name], TYPES[name]
    lo, hi = spec.lo, spec.hi
    lab_lo, lab_hi = spec.lab_range()
    if kind is int:
        out = [lo - 1, lo, lab_lo, lab_lo - 1, lab_hi, lab_hi + 1] + ([hi, hi + 1] if hi is not None else [])
    else:
        out = [lo - 1e-3, lo, lab_lo, lab_lo / 2, lab_hi, lab_hi * 1.5] + ([hi, hi * 1.5] if hi is not None else [])
    return sorted(set(out))


def as_value(name: str, x):
    return {"head": x} if name == "group_lr" else x


def engine_error(cfg: TrainConfig) -> str:
    try:
        cfg.validate()
    except ConfigError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("name", limited_fields())
def test_each_limit_is_enforced_identically_by_validation_link_and_cli(name, capsys):
    spec, base = SPECS[name], TrainConfig(trainable=("stage6", "head"), epochs=30)
    lab_lo, lab_hi = spec.lab_range()
    assert not engine_error(dataclasses.replace(base, **{name: as_value(name, lab_lo)}))  # the Lab's range fits
    assert not engine_error(dataclasses.replace(base, **{name: as_value(name, lab_hi)}))  # inside the engine's
    for x in probes(name):
        value = as_value(name, x)
        expected = engine_error(dataclasses.replace(base, **{name: value}))
        text = format_value(name, value)
        # command line: the same config, so the same verdict and the same words on stderr
        argv = ["--trainable", "stage6,head", "--epochs", "30", SPECS[name].cli[0], text]
        assert engine_error(from_cli(argv)) == expected, (name, x)
        if expected:
            assert cli.main(argv) == 2
            assert capsys.readouterr().err.strip() == f"error: {expected}"
        # a link: what the Lab can show, and nothing the engine refuses
        _, _, ignored = links.config_from_query({spec.url: text}) if spec.url else (None, None, [])
        if spec.url:
            assert (not ignored) == (lab_lo <= x <= lab_hi), (name, x, ignored)
            assert not ignored or not expected or ignored[0].startswith(f"{spec.url}={text!r}")


def test_the_limits_the_issue_found_disagreeing():
    epochs, lr = SPECS["epochs"], SPECS["lr"]
    assert (epochs.lo, epochs.hi, epochs.lab_range()) == (1, 200, (1, 30))
    assert "between 1 and 200" in engine_error(TrainConfig(epochs=201))
    assert links.config_from_query({"epochs": "31"})[2] == ["epochs='31' (must be between 1 and 30)"]
    assert links.config_from_query({"lr": "1e-6"})[2] == ["lr='1e-6' (must be between 1e-05 and 1)"]  # as it says
    assert links.config_from_query({"lr": "1e-5"})[2] == []
    assert lr.lab_range() == (1e-5, 1.0) and not engine_error(TrainConfig(lr=5.0))
    assert "far too large" in engine_error(TrainConfig(lr=11.0))


def test_choices_are_the_same_everywhere():
    assert "Unknown optimizer 'rmsprop'" in engine_error(TrainConfig(optimizer="rmsprop"))
    assert "Unknown model 'nope'" in engine_error(TrainConfig(model="nope"))
    assert links.config_from_query({"opt": "rmsprop"})[2] == ["opt='rmsprop' (is not one of adam, adamw, sgd)"]
    with pytest.raises(SystemExit):
        from_cli(["--optimizer", "rmsprop"])
    for name in ("model", "optimizer", "dataset"):
        action = next(a for a in cli.build_parser()._actions if a.dest == name)
        assert tuple(action.choices) == tuple(SPECS[name].choices())


def test_the_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().lr = 0.1  # type: ignore[misc]


def test_the_labs_widgets_offer_the_declared_range_and_help():
    at = run_ok(lab_page())
    widgets = {w.key: w for kind in ("number_input", "slider", "select_slider", "toggle")
               for w in at.get(kind) if w.key}
    for name, key in S.KEYS.items():
        spec = SPECS[name]
        if key not in widgets:
            continue
        w = widgets[key]
        lo, hi = spec.lab_range()
        if spec.widget in ("number", "slider"):
            assert (w.min, w.max) == (lo, hi), name
        if spec.widget == "steps":
            assert len(w.options) == len(spec.steps), name
        assert w.help == spec.help, name
    assert {"lab_epochs", "lab_per_class", "lab_lr", "lab_size", "lab_batch"} <= set(widgets)
