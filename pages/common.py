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


# ---- progress store --------------------------------------------------------------------------

_PENDING_KEY = "_unsaved_progress"  # writes that failed, replayed once the database works again
_WARNED_KEY = "_progress_warned"  # messages already shown to this session
_WRITE_PREFIXES = ("record_", "set_", "mark_", "unmark_")


def progress_db_path() -> str:
    """FTLAB_DB, or progress.sqlite3 in the data folder."""
    return os.environ.get("FTLAB_DB") or os.path.join(data_dir(), "progress.sqlite3")


@st.cache_resource(show_spinner=False)
def _progress_store_at(path: str):
    # Keyed by path so that changing FTLAB_DB (tests, a teacher moving a broken file) takes effect.
    from core.progress import ProgressStore

    return ProgressStore(path)


def get_progress_store():
    """The one ProgressStore of this server (cached per database path; never touches the file)."""
    return _progress_store_at(progress_db_path())


def safe_store_call(fn, *args, **kwargs):
    """fn(*args, **kwargs), or None with a one-time warning when the progress database fails.

    A failed write is kept in st.session_state and replayed after the next call that works, so a
    learner loses nothing while a teacher fixes the database.
    """
    from core.progress import ProgressError

    pending = st.session_state.setdefault(_PENDING_KEY, [])
    try:
        result = fn(*args, **kwargs)
    except ProgressError as exc:
        name = getattr(fn, "__name__", "")
        if name.startswith(_WRITE_PREFIXES) and getattr(fn, "__self__", None) is not None:
            pending.append((name, args, kwargs))
        warned = st.session_state.setdefault(_WARNED_KEY, set())
        if str(exc) not in warned:
            warned.add(str(exc))
            st.warning(str(exc), icon="⚠️")
        return None
    st.session_state[_WARNED_KEY] = set()  # working again: a later failure deserves a new warning
    if pending and getattr(fn, "__self__", None) is not None:
        failed = _replay_pending(fn.__self__, pending)
        if failed is not None:
            # Reads work but writes still fail (e.g. another program holds the write lock). The
            # warning of the failed write may have been cut by st.rerun(), so say it here.
            st.warning(f"{len(pending)} answer(s) of yours are not saved yet. {failed}", icon="⚠️")
    return result


def _replay_pending(store, pending: list):
    """Write what failed earlier in this session; stop at the first failure (returned) and keep the rest."""
    from core.progress import ProgressError

    while pending:
        name, args, kwargs = pending[0]
        try:
            getattr(store, name)(*args, **kwargs)
        except ProgressError as exc:
            return exc
        pending.pop(0)
    return None


def require_app_frame() -> None:
    """Send this run through app.py when Streamlit ran the page script on its own.

    Streamlit treats a folder named pages/ beside the entry script as an old-style multipage app
    until the entry script first calls st.navigation. So on a freshly started server, a first visit
    by deep link (/quiz, a lab link a teacher shared) would run this page without the app's frame,
    with a sidebar listing every module in pages/. Turning that mode off and rerunning sends the
    same URL through app.py (its url_path values equal the file names, so the page is found).
    Every page calls this first; after the first visit it is a no-op.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
