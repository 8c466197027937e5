"""Helpers shared by the page scripts: who the learner is, and the server-wide shared objects.

Everything shared between sessions (progress store, job manager) is created once per server with
st.cache_resource, so a classroom on one server shares one database connection pool and one queue.
"""

import re

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from core import settings

LEARNER_KEY = "learner"  # the progress key of this run: a nickname, or this browser's anonymous key
NAME_KEY = "_learner_name"  # the nickname last read from the store (kept when the database fails)
NAME_MOVED_KEY = "_learner_name_moved"  # a nickname this session held until another browser took it with its code
BROWSER_KEY = "_browser_id"
# A cookie, not localStorage or the URL: the browser sends it with the websocket handshake, so
# st.context.cookies has it in a reload's very first script run (no flash of "anonymous", no extra
# rerun), and it never leaks into a link a learner shares. The server sets it, HttpOnly, on every
# page (ui/browser_cookie.py), so no script, ours or another app's on this host, can read it.
_FLASH_KEY = "_identity_flash"  # (kind, text) shown once after a nickname action
_CODE_KEY = "_identity_code"  # (name, code): shown until the learner says it is written down


def browser_id() -> str:
    """This browser's random id, from the cookie the server set (ui/browser_cookie.py). Without one
    (a client that refuses cookies, AppTest) the session gets an id of its own, kept until it ends."""
    from core.classroom.identity import new_browser_id
    from ui.browser_cookie import browser_id_from

    bid = st.session_state.get(BROWSER_KEY)
    if not bid:
        bid = browser_id_from(st.context.cookies) or new_browser_id()
        st.session_state[BROWSER_KEY] = bid
    return bid


def browser_key() -> str:
    """A stable, non-secret key for this browser (e.g. to keep a Lab's run history or presenter
    setting on the server across reloads). It cannot be turned back into the id, so it may be
    stored or logged; never put browser_id() itself in a URL or a log."""
    from core.classroom.identity import browser_hash

    return browser_hash(browser_id())[:32]


def client_address() -> str | None:
    """The network address this session came from; None on the server's own machine (localhost).
    Behind a proxy it is the proxy's: limits per address then count the whole proxy as one."""
    address = st.context.ip_address
    return address if isinstance(address, str) else None  # AppTest's context gives a mock object


def _resolve_learner() -> str:
    """Read this browser's nickname from the store (each run: a name moved to another device stops
    here at once) and keep the resulting progress key in session_state."""
    from core.classroom.identity import anonymous_key
    from core.classroom.progress import ProgressError

    bid = browser_id()
    held = st.session_state.get(NAME_KEY)
    try:
        st.session_state[NAME_KEY] = get_progress_store().name_of(bid)
    except ProgressError:
        pass  # safe_store_call warns on the page's own calls; keep the name read last time
    if held and not st.session_state.get(NAME_KEY):  # a rename keeps a name: only a recovery code takes it
        st.session_state[NAME_MOVED_KEY] = held
    elif st.session_state.get(NAME_KEY):
        st.session_state.pop(NAME_MOVED_KEY, None)
    key = st.session_state.get(NAME_KEY) or anonymous_key(bid)
    st.session_state[LEARNER_KEY] = key
    return key


PAGE_NOW, PAGE_BEFORE = "_page_now", "_page_before"  # url paths of this run's page and the run before's


def remember_page(url_path: str) -> None:
    """The app frame's record of which page each full run showed (arrived_from_another_page)."""
    st.session_state[PAGE_BEFORE] = st.session_state.get(PAGE_NOW)
    st.session_state[PAGE_NOW] = url_path


def arrived_from_another_page() -> bool:
    """Whether this run's page differs from the previous run's (False where no frame records pages)."""
    ss = st.session_state
    return PAGE_NOW in ss and ss.get(PAGE_BEFORE) != ss[PAGE_NOW]


def current_learner() -> str:
    """The key this session's progress is stored under: its nickname, or this browser's own
    anonymous key. Never another browser's (there is no shared "guest")."""
    return st.session_state.get(LEARNER_KEY) or _resolve_learner()


def name_moved_away() -> str | None:
    """The nickname this session held until its recovery code moved it to another browser, or None."""
    return st.session_state.get(NAME_MOVED_KEY)


def moved_note(name: str) -> str:
    return (
        f"Your nickname **{name_md(name)}** moved to another browser (its recovery code was used there), "
        f"and its answers went with it. This browser now keeps its answers under no name."
    )


def learner_name() -> str | None:
    """The nickname, or None while answers are kept for this browser only."""
    from core.classroom.identity import is_anonymous

    key = current_learner()
    return None if is_anonymous(key) else key


NOT_KEPT_NOTE = (
    "Your answers are kept for this browser only, not under a name. Take a nickname in "
    "the sidebar to keep them and to carry them to another device."
)


def name_md(name: str) -> str:
    """A nickname for st.markdown: "_ada_" must not turn into italics."""
    return name.replace("_", "\\_")


_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark


def md_text(text: str) -> str:
    """`text` for st.markdown (and st.warning, st.info...) shown as the same characters: every ASCII
    punctuation mark backslash-escaped, so what came from an address (a link's parameter names and
    values) cannot become a link, an image, a colour directive or LaTeX. Line breaks become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def not_kept_note() -> None:
    """A one-line note on pages that record answers, while no nickname keeps them."""
    if learner_name() is None:
        st.caption(f"👤 {NOT_KEPT_NOTE}")
    limit = st.session_state.pop(_LIMIT_KEY, None)
    if limit:  # the quiz reruns right after recording an answer, which wipes the warning it drew
        st.warning(limit, icon="⏳")


def learner_sidebar() -> None:
    """Sidebar box: who this browser is, take or change a nickname, move one here with a code."""
    _resolve_learner()
    with st.sidebar:
        with st.container(key="identity"):
            _identity_box(learner_name())


def _identity_box(name: str | None) -> None:
    if name is None and name_moved_away():
        st.info(moved_note(name_moved_away()), icon="➡️")
    if name is None:
        st.markdown(
            "**👤 Not saved under a name.** Your answers are kept for this browser only. "
            "Take a nickname below to keep them under your name and carry them to another device."
        )
    else:
        st.markdown(f"**👤 {name_md(name)}** · your answers are saved under this name, on this browser.")
    _show_flash()
    form_label = "Nickname" if name is None else "Change nickname"
    with st.form("identity_claim", border=False, enter_to_submit=True):
        st.text_input(
            form_label,
            key="identity_name",
            max_chars=40,
            placeholder="e.g. ada",
            help="Letters, digits, spaces, dots, dashes. A nickname belongs to the browser "
            "that takes it: no one else can use it or see its answers.",
        )
        st.form_submit_button("Keep my answers under this name" if name is None else "Rename", on_click=_claim)
    if name is None:
        with st.expander("Move my nickname here (recovery code)"):
            with st.form("identity_recover", border=False):
                st.text_input("Your nickname", key="identity_recover_name", max_chars=40)
                st.text_input("Recovery code", key="identity_recover_code", placeholder="K7QX-M2PA-HT9C")
                st.form_submit_button("Move it to this browser", on_click=_recover)
    else:
        with st.expander("Use it on another device"):
            st.caption(
                "A recovery code moves your nickname and answers to another browser, once. "
                "Making a new code cancels the old one."
            )
            st.button("Make a recovery code", key="identity_new_code", on_click=_new_code)


def _show_flash() -> None:
    flash = st.session_state.pop(_FLASH_KEY, None)
    if flash:
        getattr(st, flash[0])(flash[1])
    shown = st.session_state.get(_CODE_KEY)
    if shown:
        name, code = shown
        st.markdown(f"Recovery code for **{name_md(name)}** (works once; shown only now, so write it down):")
        st.code(code, language=None)
        st.button("I wrote it down", key="identity_code_done", on_click=st.session_state.pop, args=(_CODE_KEY, None))


def _identity_action(action, *args) -> str | None:
    """Run a store identity call; its refusal or a database failure becomes the flash message."""
    from core.classroom.identity import IdentityError
    from core.classroom.progress import ProgressError

    try:
        return action(*args)
    except IdentityError as exc:
        st.session_state[_FLASH_KEY] = ("error", str(exc))
    except ProgressError as exc:
        st.session_state[_FLASH_KEY] = ("warning", f"Nicknames cannot be changed right now. {exc}")
    return None


def _name_taken(code: str | None, message: str, clear_field: str) -> None:
    """After a claim or a recovery: show the new one-time code once and say whose answers these are."""
    if code:
        taken = _resolve_learner()
        st.session_state[_CODE_KEY] = (taken, code)
        st.session_state[_FLASH_KEY] = ("success", message.format(name=taken))
        st.session_state[clear_field] = ""


def _claim() -> None:
    name = st.session_state.get("identity_name", "")
    code = _identity_action(get_progress_store().claim_name, browser_id(), name)
    _name_taken(code, "Your answers are now kept under “{name}”.", "identity_name")


def _recover() -> None:
    name = st.session_state.get("identity_recover_name", "")
    code = _identity_action(
        get_progress_store().recover, browser_id(), name, st.session_state.get("identity_recover_code", "")
    )
    _name_taken(code, "“{name}” is now on this browser; the old code is used up.", "identity_recover_code")


def _new_code() -> None:
    code = _identity_action(get_progress_store().new_recovery_code, browser_id())
    if code:
        st.session_state[_CODE_KEY] = (current_learner(), code)


# ---- charts: colours everyone can tell apart, and a text alternative -----------------------------

# Okabe & Ito's colour-blind-safe palette (distinct under protanopia, deuteranopia, tritanopia).
# Order: blue, vermillion, bluish green, orange, reddish purple, sky blue, yellow, black. Use it in
# this order for series, and pair colour with a second cue (dash, marker) where lines may cross.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
# Trace types the app's figures use, and the charts' template: plotly_white's layout and its defaults
# for these types only. The name "plotly_white" made Plotly copy and validate the defaults of all ~50
# trace types into every figure: about a quarter of the time to build a Lab chart (the live view builds
# one to four a second while a run trains) and 40% of its JSON (the loss chart's went from 8.2 KB to
# 4.9 KB). It draws the same: tests/test_chart_template.py.
TRACE_TYPES = ("bar", "heatmap", "scatter", "table")
WHITE = go.layout.Template(
    layout=pio.templates["plotly_white"].layout, data={t: pio.templates["plotly_white"].data[t] for t in TRACE_TYPES}
)


def chart_with_summary(fig, summary: str, **kwargs) -> None:
    """A Plotly chart followed by its text alternative: a caption a screen reader reads in place of
    the picture (Plotly's SVG has no accessible text). `summary` states what the chart shows, e.g.
    "3 quiz rounds from 2 Nov to 9 Nov: 40% first, 80% latest, best 80%"."""
    kwargs.setdefault("config", {"displayModeBar": False})
    st.plotly_chart(fig, **kwargs)
    chart_summary(summary)


def chart_summary(summary: str) -> None:
    """The text alternative under a chart (chart_with_summary's, and the Lab's live charts')."""
    st.caption(f"Chart summary: {summary}")


# ---- page-wide accessibility fixes (the frame applies them on every page) -----------------------

# Streamlit's code highlighting has fixed colours below WCAG AA on the code background (#f7f7f6):
# strings #09ab3b 2.8:1, keywords #1c83e1 3.6:1, operators #ed6f13, comments #808495 3.6:1 (axe
# color-contrast). Same hues, darker: each 5.5:1 or more. The theme has no setting for these.
_CODE_COLOURS_CSS = """<style>
.stCode .token.keyword, .stCode .token.function { color: #0b5cad; }
.stCode .token.string, .stCode .token.boolean { color: #0a6e35; }
.stCode .token.number { color: #00695c; }
.stCode .token.operator { color: #a34a00; }
.stCode .token.comment, .stCode .token.punctuation { color: #5c6070; }
</style>"""
# Code that scrolls sideways (no wrapping, so comments stay on their line) must be reachable by
# keyboard to be scrolled (axe scrollable-region-focusable): each code block gets a tab stop and a
# name. One observer per page, so blocks drawn by later reruns are covered too.
_FOCUSABLE_CODE_JS = """
export default function () {
  if (window.__ftlabFocusableCode) return;
  window.__ftlabFocusableCode = true;
  const mark = () => document.querySelectorAll('[data-testid="stCode"] pre:not([tabindex])').forEach((pre) => {
    pre.setAttribute("tabindex", "0");
    pre.setAttribute("role", "region");
    pre.setAttribute("aria-label", "Code example");
  });
  mark();
  new MutationObserver(mark).observe(document.body, { childList: true, subtree: true });
}
"""


def accessibility_fixes() -> None:
    """Readable code colours and keyboard-scrollable code blocks, for every page (called by app.py)."""
    st.html(_CODE_COLOURS_CSS)
    fixer = st.components.v2.component("ftlab_focusable_code", js=_FOCUSABLE_CODE_JS)
    fixer(key="ftlab_focusable_code")


def data_dir() -> str:
    """Folder for the progress database and caches; FTLAB_DATA_DIR overrides the default."""
    path = settings.current().data_dir
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


# ---- progress store --------------------------------------------------------------------------

_PENDING_KEY = "_unsaved_progress"  # writes that failed, replayed once the database works again
_WARNED_KEY = "_progress_warned"  # messages already shown to this session
_LIMIT_KEY = "_record_limit_note"  # the last "not kept: too many this hour" message, shown once more


def progress_db_path() -> str:
    """FTLAB_DB, or progress.sqlite3 in the data folder. FTLAB_DB may be a SQLite file's path or a
    postgresql:// URL, for several app servers sharing one class (ProgressStore picks the backend)."""
    data_dir()  # the default file's folder must exist
    return settings.current().db


@st.cache_resource(show_spinner=False)
def _progress_store_at(path: str):
    # Keyed by path so that changing FTLAB_DB (tests, a teacher moving a broken file) takes effect.
    from core.classroom.progress import ProgressStore

    return ProgressStore(path)


def get_progress_store():
    """The one ProgressStore of this server (cached per database path; never touches the file)."""
    return _progress_store_at(progress_db_path())


def safe_store_call(fn, *args, **kwargs):
    """fn(*args, **kwargs), or None with a one-time warning when the progress database fails.

    A failed write is kept in st.session_state and replayed after the next call that works, so a
    learner loses nothing while a teacher fixes the database.
    """
    from core.classroom.progress import ProgressError, RecordLimit

    pending = st.session_state.setdefault(_PENDING_KEY, [])
    try:
        result = fn(*args, **kwargs)
    except RecordLimit as exc:  # a refusal, not a failure: said, never retried
        st.session_state[_LIMIT_KEY] = str(exc)  # for the frame to repeat when the page reruns at once
        st.warning(str(exc), icon="⏳")
        return None
    except ProgressError as exc:
        name = getattr(fn, "__name__", "")
        owner = getattr(fn, "__self__", None)
        if name in getattr(type(owner), "REPLAYED_WRITES", ()):  # declared by the store (ProgressStore)
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
    from core.classroom.progress import ProgressError

    while pending:
        name, args, kwargs = pending[0]
        try:
            getattr(store, name)(*args, **kwargs)
        except ProgressError as exc:
            return exc
        pending.pop(0)
    return None
