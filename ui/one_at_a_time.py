"""View helpers for pages that show one item at a time (Concepts, Pitfalls): the item chosen by the
address (`?concept=<id>`), a contents list in the sidebar, and Previous / Next buttons.

The address is the one record of where the reader is: a copied link opens the same item, and the
browser's Back button (Streamlit reruns the page with the earlier address) goes to the item before.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.content.browse import Place, locate
from ui.common import md_text

__all__ = ["choose", "contents", "follow_old_anchor", "go_to", "step_buttons", "unknown_note"]


def go_to(param: str, item_id: str | None) -> None:
    """Button callback: put `item_id` in the address (None takes the parameter out); the rerun the
    click starts then shows it, and the browser gets a history entry for Back."""
    if item_id is None:
        st.query_params.pop(param, None)
    else:
        st.query_params[param] = item_id


def choose(param: str, order: Sequence[str], extras: Sequence[str] = ()) -> Place:
    """Where the address puts the reader in `order` (or on one of the `extras` pages)."""
    return locate(order, st.query_params.get(param), extras)


# Addresses from the one-long-page days, /concepts#freezing-layers: a fragment never reaches the
# server, so an in-page script hands a known one over once, and takes it out of the address so a
# rerun or Back does not jump again.
_OLD_ANCHOR_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  const id = decodeURIComponent(window.location.hash.slice(1)).trim().toLowerCase();
  if (!id || !data || !data.ids.includes(id)) return;
  history.replaceState(history.state, "", window.location.pathname + window.location.search);
  setTriggerValue("anchor", id);
}
"""


def follow_old_anchor(param: str, ids: Sequence[str]) -> None:
    """Turns an old `#<id>` anchor in the address into `?<param>=<id>`; call it before choose()."""
    mount = st.components.v2.component("ftlab_old_anchor", js=_OLD_ANCHOR_JS)
    result = mount(data={"ids": list(ids)}, key=f"{param}_old_anchor", on_anchor_change=lambda: None)
    anchor = getattr(result, "anchor", None)
    if anchor in ids:
        go_to(param, anchor)  # read by choose() later in this same run: no extra rerun


def unknown_note(place: Place, noun: str) -> None:
    """Says that a link named no item, and what is shown instead, when that happened."""
    if place.unknown is not None:
        st.warning(
            f"The link asked for the {noun} “{md_text(place.unknown)}”, which is not here (any more). "
            f"Here is the first {noun}; pick another from the contents list.",
            icon="🔎",
        )


# The app frame draws the nickname box in the sidebar before the page runs; without this the contents
# would start below it, off screen at 1280x900. Flex order moves them up to just under the navigation.
_TOC_FIRST_CSS = """<style>
[data-testid="stSidebarUserContent"] .%(key)s,
[data-testid="stSidebarUserContent"] [data-testid="stVerticalBlock"] > :has(> .%(key)s) { order: -1; }
</style>"""


def contents(
    prefix: str,
    param: str,
    entries: Sequence[tuple[str, str]],
    place: Place,
    done: set,
    extras: Sequence[tuple[str, str]] = (),
) -> None:
    """(id, title) entries as a numbered list of buttons in the sidebar, the current one marked ▶
    and in the primary colour, the done ones ✅; `extras` (pages outside previous/next) after a rule."""
    with st.sidebar.container(key=f"{prefix}_toc"):
        st.html(_TOC_FIRST_CSS % {"key": f"st-key-{prefix}_toc"})
        st.markdown("**Contents**")
        for number, (item_id, title) in enumerate(entries, 1):
            _entry(prefix, param, item_id, f"{number}. {title}{' ✅' if item_id in done else ''}", place)
        if extras:
            st.divider()
        for item_id, title in extras:
            _entry(prefix, param, item_id, title, place)


def _entry(prefix: str, param: str, item_id: str, label: str, place: Place) -> None:
    current = item_id == place.current
    st.button(
        f"▶ {label}" if current else label,
        key=f"{prefix}_toc_{item_id}",
        type="primary" if current else "tertiary",
        on_click=go_to,
        args=(param, item_id),
        width="stretch",
    )


def step_buttons(prefix: str, param: str, place: Place, titles: dict[str, str], noun: str) -> None:
    """← Previous and Next → with the neighbours' titles, and where the reader is ("3 of 21")."""
    left, middle, right = st.columns([2, 1, 2], vertical_alignment="center")
    if place.previous is not None:
        left.button(
            f"← Previous: {titles[place.previous]}",
            key=f"{prefix}_prev",
            on_click=go_to,
            args=(param, place.previous),
            width="stretch",
        )
    if place.position is not None:
        middle.caption(f"{noun.capitalize()} {place.position} of {place.total}")
    if place.next is not None:
        right.button(
            f"Next: {titles[place.next]} →",
            key=f"{prefix}_next",
            type="primary",
            on_click=go_to,
            args=(param, place.next),
            width="stretch",
        )
