"""The Lab form's control for one config field, drawn from the field's declaration (core.train.config)."""

from __future__ import annotations

from core.train.config import SPECS
from ui.lab import state as S


def setting_widget(where, name: str, label: str, **kw):
    """The form's control for one config field: its kind, range, steps, options and help come from
    the field's declaration (core.train.config), so the form cannot offer what a link or the engine refuses."""
    spec, key = SPECS[name], S.KEYS[name]
    kw.setdefault("help", spec.help or None)
    lo, hi = spec.lab_range()
    if spec.widget == "number":
        return where.number_input(label, int(lo), int(hi), key=key, **kw)
    if spec.widget == "slider":
        return where.slider(label, int(lo), int(hi), key=key, **kw)
    if spec.widget == "steps":
        return where.select_slider(label, list(spec.steps), key=key, **kw)
    if spec.widget == "toggle":
        return where.toggle(label, key=key, **kw)
    options = kw.pop("options", None) or list(spec.choices())
    return where.selectbox(label, options, key=key, **kw)
