"""Settings as text, for shared links and the command line: parse a value a learner typed, and write
one back. The rules for each setting come from its declaration in core.train.config.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.train.config import (
    ALL,
    NONE,
    SPECS,
    TYPES,
    _num,
    _numbers,
    out_of_range,
    reason,
)


def _flag(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1 or 0")


def _groups(text: str, groups: Sequence[str]) -> tuple[str, ...]:
    if text == NONE:
        return ()
    if text == ALL:
        return tuple(groups)
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in groups]
    if bad:
        raise ValueError(f"unknown group(s) {', '.join(bad)}")
    return tuple(g for g in groups if g in names)


def _schedule(text: str, groups: Sequence[str]) -> dict[int, tuple[str, ...]]:
    out = {}
    for part in filter(None, text.split(";") if text != NONE else []):
        epoch, _, names = part.partition(":")
        if not epoch.strip().isdigit():
            raise ValueError(f"{epoch!r} is not an epoch number (write epoch:groups;..., e.g. 3:stage6)")
        out[int(epoch)] = _groups(names, groups)
    return out


def _rates(text: str, groups: Sequence[str]) -> dict[str, float]:
    out = {}
    for part in filter(None, text.split(",") if text != NONE else []):
        g, _, v = part.partition(":")
        if g not in groups:
            raise ValueError(f"unknown group {g}")
        try:
            out[g] = float(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a number (write group:rate,..., e.g. head:0.001)") from None
    return out


SYNTAX: dict[object, str] = {
    tuple[str, ...]: "comma-separated, 'all' or 'none'",
    dict[int, tuple[str, ...]]: "e.g. 3:stage6;5:stage5",
    dict[str, float]: "e.g. stage6:1e-05,head:0.001",
}  # the text forms below, for --help
PARSERS: dict = {
    bool: lambda t, g: _flag(t),
    int: lambda t, g: int(t),
    float: lambda t, g: float(t),
    str: lambda t, g: t,
    tuple[str, ...]: _groups,
    dict[int, tuple[str, ...]]: _schedule,
    dict[str, float]: _rates,
}


def parse_text(name: str, text: str, groups: Sequence[str] = (), lab: bool = False):
    """A field's value from its text form; ValueError with a short reason when it cannot be used.
    lab=True (a link) also holds it to what the Lab can show; the command line leaves limits to
    validate(), whose message is the full one."""
    spec = SPECS[name]
    value = PARSERS[TYPES[name]](text, groups)
    if lab:
        if any(out_of_range(spec, x, lab=True) for _, x in _numbers(name, value)):
            raise ValueError(reason(spec, lab=True))
        if spec.choices and value not in spec.choices():
            raise ValueError(f"is not one of {', '.join(spec.choices())}")
    return value


def format_value(name: str, value) -> str:
    """The text form of a field's value; parse_text reads it back to the same value."""
    kind = TYPES[name]
    if kind is bool:
        return "1" if value else "0"
    if kind is float:
        return _num(float(value))
    if kind == tuple[str, ...]:
        return ",".join(value) or NONE
    if kind == dict[int, tuple[str, ...]]:
        return ";".join(f"{e}:{','.join(gs)}" for e, gs in sorted(value.items())) or NONE
    if kind == dict[str, float]:
        return ",".join(f"{g}:{_num(float(v))}" for g, v in value.items()) or NONE
    return str(value)
