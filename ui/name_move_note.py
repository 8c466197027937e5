"""The note a browser shows after its nickname moved to another browser with a recovery code.

Without it the browser that gave the name away shows "No progress yet" on its next visit, which reads
as lost work. The store keeps the move (core/classroom/moves.py), so a fresh visit says it too.
"""

import streamlit as st

from ui.common import NAME_MOVED_KEY, browser_id, learner_name, name_md, name_moved_away
from ui.lesson_widgets import store_call
from ui.review_widgets import quiet_read, when_text


def name_move_note() -> None:
    """Where this browser's nickname went, when, and how to bring it back; with a button to put it away."""
    if learner_name() is not None:
        return
    move = quiet_read("name_moved_from", browser_id())
    if move is None and not name_moved_away():
        return
    name = move.name if move else name_moved_away()
    when = f" on {when_text(move.ts)}" if move else ""
    with st.container(key="name_move_note"):
        st.info(
            f"Your nickname **{name_md(name)}** moved to another browser{when} (its recovery code was used "
            "there), and its answers went with it. This browser now keeps its answers under no name. "
            "To bring the nickname back here: on the browser that has it, open “Use it on another device” "
            "in the sidebar and make a recovery code; then, here, open “Move my nickname here” and type "
            "the nickname and that code.",
            icon="➡️",
        )
        if move:
            st.button("Got it, don't show this again", key="name_move_seen", on_click=_seen)


def _seen() -> None:
    store_call("dismiss_name_move", browser_id())
    st.session_state.pop(NAME_MOVED_KEY, None)  # the sidebar's note of this session goes too
