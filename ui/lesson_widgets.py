"""View helpers shared by the learning pages: lesson loading, level badges, progress calls,
code in framework tabs, wrong-vs-correct code with changed lines marked, lesson figures, lab links
and the predict-before-reveal block.

Kept here so each page script stays a short, readable description of its own screen.
"""

import html

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.content.codediff import changed_lines
from core.content.lessons import load_lessons
from ui.common import current_learner, get_progress_store, safe_store_call
from ui.page_files import page_file

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


def level_filter(key: str, label: str = "Level", disabled: bool = False) -> str:
    """Horizontal level picker; returns 'all' or one level. Disabled, it keeps its value for later."""
    return st.radio(label, LEVEL_FILTER, horizontal=True, key=key, format_func=str.capitalize, disabled=disabled)


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


def code_tabs(*panes: tuple) -> None:
    """(title, code) pairs as tabs, one full-width block each, never wrapped: a wrapped comment lands
    under the wrong line (issue 10). An empty code string leaves its tab out; one pane needs no tabs."""
    panes = [pane for pane in panes if pane[1]]
    if len(panes) == 1:
        st.markdown(f"**{panes[0][0]}**")
        st.code(panes[0][1].rstrip(), language="python", wrap_lines=False)
    elif panes:
        for tab, (_, code) in zip(st.tabs([title for title, _ in panes]), panes):
            with tab:
                st.code(code.rstrip(), language="python", wrap_lines=False)


# (marker, line style, words for screen readers) per side. Okabe-Ito vermillion and blue tints: apart
# for every common colour-vision deficiency, and the marker says it without colour.
_DIFF_SIDES = {
    "wrong": ("−", "background:#FBE1D3;border-left:4px solid #D55E00;", "changed line"),
    "correct": ("+", "background:#D6EAF8;border-left:4px solid #0072B2;", "fixed line"),
}
_SAME_STYLE = "border-left:4px solid transparent;"
_SR_ONLY = "position:absolute;left:-9999px;user-select:none"


def _diff_line(line, side: str) -> str:
    sign, style, words = _DIFF_SIDES[side] if line.changed else (" ", _SAME_STYLE, "")
    sr = f'<span style="{_SR_ONLY}">{words}: </span>' if line.changed else ""
    return (
        f'<span class="ftl-diff-line{" ftl-changed" if line.changed else ""}" style="display:block;{style}">'
        f'{sr}<span aria-hidden="true" style="user-select:none;color:#555">{sign} </span>'
        f"{html.escape(line.text) or ' '}</span>"
    )


def _diff_html(lines: list, side: str) -> str:
    """A monospace block that never wraps (sideways scroll instead), one block-level span per line. A
    <div>, not <pre>: st.markdown swaps a <pre> for its own code component and drops the marks.
    tabindex=0 lets a keyboard user focus it and scroll a long line sideways."""
    return (
        f'<div class="ftl-diff ftl-diff-{side}" role="group" aria-label="{side} code" tabindex="0" '
        'style="white-space:pre;overflow-x:auto;background:#F7F7F7;color:#222;padding:0.6rem 0;border-radius:0.5rem;font-family:'
        "'Source Code Pro',monospace;font-size:0.85rem;line-height:1.45;margin-bottom:1rem\"><div style=\""
        'display:inline-block;min-width:100%">' + "".join(_diff_line(line, side) for line in lines) + "</div></div>"
    )


def code_diff(wrong: str, correct: str) -> None:
    """Wrong code above correct code, full width, with the lines that differ marked on both sides."""
    wrong_lines, correct_lines = changed_lines(wrong, correct)
    n = sum(line.changed for line in correct_lines)
    st.markdown("**❌ Wrong** (lines marked − are what the fix changes)")
    st.markdown(_diff_html(wrong_lines, "wrong"), unsafe_allow_html=True)
    st.markdown(f"**✅ Correct** ({n} line{'s' if n != 1 else ''} marked + differ from the wrong code)")
    st.markdown(_diff_html(correct_lines, "correct"), unsafe_allow_html=True)


@st.cache_resource(show_spinner=False)
def _diagram(kind: str):
    """(figure, its numbers in words), built once per server from presets, parameter counts and the
    stored runs. Imported here, not at the top: the quiz and flashcard pages need no torch.

    cache_resource, not cache_data: cache_data unpickles a copy per page run, and rebuilding a
    Plotly figure re-validates every property (a tenth of the server's CPU under the load test).
    The figure is only read (st.plotly_chart serialises it), so one shared object is safe."""
    from core.lab.lesson_figures import describe
    from ui.lesson_diagrams import DIAGRAMS

    return DIAGRAMS[kind](), describe(kind)


def figure_block(figure) -> None:
    """A lesson figure (lessons/figures.yaml): title, the app-drawn chart with its alt text, caption,
    and a text version giving the figure's numbers in sentences."""
    st.markdown(f"**🖼️ {figure.title}**")
    try:
        fig, words = _diagram(figure.kind)
    except (OSError, KeyError, ValueError) as exc:  # e.g. lessons/lesson_data.json missing
        st.warning(f"This figure could not be drawn ({exc}).")
        return
    st.plotly_chart(fig, key=f"figure_{figure.id}", alt=figure.alt, config={"displayModeBar": False})
    st.caption(figure.caption)
    with st.expander("Text version of this figure"):
        st.markdown(figure.alt)
        st.markdown(words)
    if figure.kind == "stem-filters":  # what those kernels do to the learner's own picture
        from ui.first_blocks import render_own_image  # imported here: it needs torch, most pages do not

        render_own_image(f"figure_{figure.id}")


def lab_link(preset: str, label: str = "Try it in the lab") -> None:
    """Link to the lab page with `?preset=<id>`. st.page_link keeps the session (and nickname) but
    only works when the lab page is registered with st.navigation; a plain link works everywhere."""
    try:
        st.page_link(page_file("lab"), label=label, icon="🧪", query_params={"preset": preset})
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
