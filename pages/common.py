"""Helpers shared by the page scripts: the learner's name, and the server-wide shared objects.

Everything shared between sessions (progress store, job manager) is created once per server with
st.cache_resource, so a classroom on one server shares one database connection pool and one queue.
"""
import os
import re

import streamlit as st

LEARNER_KEY = "learner"
_NAME_OK = re.compile(r"^[\w .\-]{1,40}$")


def learner_sidebar() -> None:
    """Sidebar box where a learner types a nickname; progress is stored under it (no passwords)."""
    with st.sidebar:
        current = st.session_state.get(LEARNER_KEY, "")
        name = st.text_input(
            "Your nickname",
            value=current,
            key="learner_input",
            placeholder="e.g. ada",
            help="Progress (quiz scores, known cards, finished steps) is saved under this name.",
        ).strip()
        if name and not _NAME_OK.match(name):
            st.warning("Use up to 40 letters, digits, spaces, dots or dashes.")
        elif name != current:
            st.session_state[LEARNER_KEY] = name


def current_learner() -> str:
    """The nickname, or 'guest' when none was given (guests' progress is still stored, shared)."""
    return st.session_state.get(LEARNER_KEY) or "guest"


def data_dir() -> str:
    """Folder for the progress database and caches; FTLAB_DATA_DIR overrides the default."""
    path = os.environ.get("FTLAB_DATA_DIR") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
    os.makedirs(path, exist_ok=True)
    return path
