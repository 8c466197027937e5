"""View helpers shared by the learning pages: lesson loading, level badges, progress calls,
side-by-side code, lab links and the predict-before-reveal block.

Kept here so each page script stays a short, readable description of its own screen.
"""
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.lessons import load_lessons
from pages.common import current_learner, get_progress_store, safe_store_call

LEVELS = ("beginner", "intermediate", "advanced")
LEVEL_FILTER = ("all",) + LEVELS
_LEVEL_COLOR = {"beginner": "green", "intermediate": "orange", "advanced": "red"}


@st.cache_resource(show_spinner=False)
def _cached_lessons():
    # The YAML is read once per server: every learner sees the same content.
    return load_lessons()


def lessons():
    """All lesson content, or a friendly error and a stopped page when the YAML cannot be loaded."""
    try:
        return _cached_lessons()
    except Exception as exc:  # a broken lesson file must not show a traceback to a learner
        st.error(f"The lesson content could not be loaded ({exc}). Ask your teacher to check the lessons/ folder.")
        st.stop()


def badge(level: str) -> str:
    """Markdown for a coloured level badge, to append to a heading."""
    return f":{_LEVEL_COLOR.get(level, 'gray')}-badge[{level}]"


def level_filter(key: str, label: str = "Level") -> str:
    """Horizontal level picker; returns 'all' or one level."""
    return st.radio(label, LEVEL_FILTER, horizontal=True, key=key, format_func=str.capitalize)


def by_level(items, level: str) -> list:
    return [item for item in items if level == "all" or getattr(item, "level", None) == level]


def store_call(method: str, *args, default=None):
    """Call one progress-store method; a missing or broken database gives `default`, never an error."""
    store = safe_store_call(get_progress_store)
    if store is None or not hasattr(store, method):
        return default
    result = safe_store_call(getattr(store, method), *args)
    return default if result is None else result


def done_ids(kind: str) -> set:
    """Ids the learner marked done for `kind`, from the store plus this session (so the UI updates
    even when the database is unavailable)."""
    stored = store_call("done_items", current_learner(), kind, default=set())
    ids = {item[1] if isinstance(item, tuple) else item for item in stored}
    return ids | st.session_state.setdefault(f"_done_{kind}", set())


def mark_done(kind: str, item_id: str) -> None:
    st.session_state.setdefault(f"_done_{kind}", set()).add(item_id)
    store_call("mark_done", current_learner(), kind, item_id)


def code_side_by_side(left: tuple, right: tuple) -> None:
    """Two (title, code) pairs in columns; an empty code string leaves its column out."""
    panes = [pane for pane in (left, right) if pane[1]]
    if not panes:
        return
    for column, (title, code) in zip(st.columns(len(panes)), panes):
        with column:
            st.markdown(f"**{title}**")
            st.code(code.rstrip(), language="python", wrap_lines=True)  # side by side: no sideways scrolling


def lab_link(preset: str, label: str = "Try it in the lab") -> None:
    """Link to the lab page with `?preset=<id>`. st.page_link keeps the session (and nickname) but
    only works when the lab page is registered with st.navigation; a plain link works everywhere."""
    try:
        st.page_link("pages/lab.py", label=label, icon="🧪", query_params={"preset": preset})
    except StreamlitAPIException:
        st.markdown(f"🧪 [{label}](/lab?preset={preset})")


def predict_block(key: str, question: str, options: list, answer: int, locked_label: str = "Lock in my prediction"):
    """Radio + lock button. Returns None until the learner locks a choice, then (chosen, is_right).

    Committing first is the point: a learner who guesses before reading remembers the answer better.
    """
    locked = st.session_state.setdefault("_locked", {})
    st.markdown(f"**🤔 Predict:** {question}")
    chosen = st.radio(
        "Your prediction",
        list(range(len(options))),
        index=locked.get(key),
        format_func=lambda i: str(options[i]),
        key=f"{key}_choice",
        disabled=key in locked,
        label_visibility="collapsed",
    )
    if key not in locked:
        if st.button(locked_label, key=f"{key}_lock"):
            if chosen is None:
                st.warning("Pick an option first, then lock it in.")
            else:
                locked[key] = chosen
                st.rerun()
        return None
    return locked[key], locked[key] == answer
