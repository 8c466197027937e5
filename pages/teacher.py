"""Teacher page: the class's progress behind a passcode (FTLAB_TEACHER_CODE).

The only view across learners: every other page shows a learner their own records. Closed on a
server started without the passcode (the page says how to open it); a wrong passcode shows nothing
and slows the next try (core/classroom/teacher_gate.py). Once open, the view stays open for this browser
session until "Lock" or until the server's passcode changes.
"""

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.classroom import teacher_gate as gate
from core.classroom.class_report import ClassReport, answer_rows, build_class_report, short_label, table, to_csv
from core.classroom.explain_records import REVIEW_MARKS
from ui.common import browser_key, client_address, get_progress_store, name_md, safe_store_call
from ui.lesson_widgets import lessons
from ui.page_files import page_file

S = st.session_state
UNLOCKED = "_teacher_unlocked"  # the digest of the passcode this session typed right
REFUSED = "_teacher_refused"  # the message of the last refused try, shown once


def closed() -> None:
    st.info(
        "The teacher's view is switched off on this server: it shows every learner's progress, so "
        f"it opens only with a passcode, set in the environment variable `{gate.ENV}` when the server "
        "starts. Stop the app and start it again with a passcode of your own:",
        icon="🔒",
    )
    st.code(gate.ENABLE_COMMAND, language="bash")
    st.caption("Then open this page and type the passcode. Learners keep seeing only their own progress.")


def try_code(code: str, browser: str, address: str | None) -> None:
    """Form callback: check the typed passcode, then empty the field (it is never kept)."""
    verdict = gate.shared_gate().attempt(code, S.get("teacher_code", ""), browser, address)
    S["teacher_code"] = ""
    if verdict.ok:
        S[UNLOCKED] = gate.digest(code)
    else:
        S[REFUSED] = verdict.message


def passcode_form(code: str) -> None:
    st.markdown("This view shows the class's progress. Type the teacher passcode of this server.")
    with st.form("teacher_login"):
        st.text_input("Teacher passcode", type="password", key="teacher_code", autocomplete="off")
        st.form_submit_button(
            "Open the class view", type="primary", on_click=try_code, args=(code, browser_key(), client_address())
        )
    refused = S.pop(REFUSED, None)
    if refused:
        st.error(refused, icon="🚫")


def lock() -> None:
    S.pop(UNLOCKED, None)


def question_link(row) -> None:
    """The question, linked to the Quiz page opened on it (?question=<id>)."""
    label = f"{round(100 * row.miss_rate)}% missed it · {short_label(row.question)}"
    try:
        st.page_link(page_file("quiz"), label=label, icon="❓", query_params={"question": row.question_id})
    except StreamlitAPIException:  # page run on its own (tests, single-page mode)
        st.markdown(f"❓ [{label}](/quiz?question={row.question_id})")
    st.caption(
        f"{row.missed_first_try} of {row.learners} learner(s) got it wrong the first time · "
        f"{row.still_wrong} still wrong at their latest try · {row.answers} answer(s) in all · "
        f"{row.level}"
    )


def download(label: str, section: str, rows, key: str) -> None:
    st.download_button(
        f"⬇️ {label} (CSV)",
        to_csv(section, rows),
        file_name=f"class-{key}.csv",
        mime="text/csv",
        key=f"teacher_csv_{key}",
        on_click="ignore",
    )


def shown(rows) -> list[dict]:
    """Rows for st.dataframe, with readable column names."""
    # long texts cut to one short line, so the columns after them stay in view (the CSV keeps them whole)
    return [
        {k.replace("_", " "): short_label(v) if isinstance(v, str) else v for k, v in r.items()} for r in table(rows)
    ]


def quiz_tab(report: ClassReport) -> None:
    st.caption(
        "The most missed first: the share of learners whose first answer was wrong. Open a question "
        "to see it as learners do."
    )
    if not report.questions:
        st.info("No quiz answers yet.")
    for row in report.questions:
        question_link(row)
    if report.unanswered_questions:
        st.caption(f"{report.unanswered_questions} question(s) of the quiz nobody has answered yet.")
    download("Quiz questions", "quiz answers", report.questions, "quiz")


def explain_tab(report: ClassReport) -> None:
    st.caption(
        "Marks come from each prompt's probes and the learner's own check of their text against the "
        "model answer; each learner counts with their best marked attempt. The lowest mean first."
    )
    if report.keyword_scored:
        st.info(
            f"{report.keyword_scored} attempt(s) were recorded before the probes and scored by keyword "
            "matching, which could not tell right from wrong: they are counted under “keyword scored” "
            "and left out of every mean.",
            icon="ℹ️",
        )
    if not report.prompts:
        st.info("No “Explain it” attempts yet.")
        return
    st.dataframe(
        shown(report.prompts),
        hide_index=True,
        column_config={"mean best mark": st.column_config.NumberColumn(format="percent")},
    )
    download("Explain it marks", "explain attempts", report.prompts, "explain")
    review_answers(report)


def save_review(attempt_id: int) -> None:
    """Form callback: store the teacher's mark and comment on one answer."""
    mark = S.get(f"teacher_review_mark_{attempt_id}")
    if mark is None:
        S["teacher_review_saved"] = (attempt_id, "Pick a mark before saving.")
        return
    safe_store_call(
        get_progress_store().review_explain, attempt_id, mark, S.get(f"teacher_review_comment_{attempt_id}", "")
    )
    S["teacher_review_saved"] = (attempt_id, "Saved: the learner sees your mark and comment on their Progress page.")


def review_answers(report: ClassReport) -> None:
    st.markdown("**Read and mark answers**")
    pid = st.selectbox(
        "Prompt",
        [r.prompt_id for r in report.prompts],
        key="teacher_explain_prompt",
        format_func={r.prompt_id: r.prompt for r in report.prompts}.get,
    )
    rows = safe_store_call(answer_rows, get_progress_store(), pid) or ()
    saved = S.pop("teacher_review_saved", None)
    for row in rows:
        with st.container(border=True, key=f"teacher_answer_{row.attempt_id}"):
            st.markdown(f"**{name_md(row.learner)}** · {row.when} · {row.mark}")
            st.text(row.answer)
            with st.form(f"teacher_review_{row.attempt_id}", border=False):
                marks = list(REVIEW_MARKS)
                st.radio(
                    "Your mark",
                    marks,
                    format_func=REVIEW_MARKS.get,
                    horizontal=True,
                    index=marks.index(row.review_mark) if row.review_mark in marks else None,
                    key=f"teacher_review_mark_{row.attempt_id}",
                )
                st.text_area(
                    "Comment for the learner",
                    value=row.review_comment,
                    max_chars=2000,
                    key=f"teacher_review_comment_{row.attempt_id}",
                )
                st.form_submit_button("Save review", on_click=save_review, args=(row.attempt_id,))
            if saved and saved[0] == row.attempt_id:
                st.caption(saved[1])


def lab_tab(report: ClassReport) -> None:
    st.caption(
        "Runs kept in the learners' Lab histories: a classroom demo, a single run with a preset's "
        "settings, or settings of their own."
    )
    if not report.lab_runs:
        st.info("No Lab runs yet.")
    for ran, who, n in report.lab_summary:
        st.markdown(f"- **{ran}**: {n} run(s) by {', '.join(name_md(w) for w in who)}")
    if report.lab_runs:
        st.dataframe(
            shown(report.lab_runs),
            hide_index=True,
            column_config={"val acc": st.column_config.NumberColumn(format="percent")},
        )
    download("Lab runs", "lab runs", report.lab_runs, "lab")


def learners_tab(report: ClassReport) -> None:
    st.caption("Learners by nickname; those without one are numbered by when they started.")
    st.dataframe(shown(report.learners), hide_index=True)
    download("Learners", "learners", report.learners, "learners")


def class_view(code: str) -> None:
    top = st.columns([4, 1])
    top[0].caption("The class view is open in this browser tab until you lock it.")
    top[1].button("🔒 Lock", key="teacher_lock", on_click=lock)
    if len(code) < gate.MIN_GOOD_LENGTH:
        st.warning(
            f"This passcode is short ({len(code)} characters): restart the server with one of at least "
            f"{gate.MIN_GOOD_LENGTH}, so that it is hard to guess.",
            icon="⚠️",
        )
    report = safe_store_call(build_class_report, get_progress_store(), lessons())
    if report is None:
        st.stop()
    if not report.learners:
        st.info("No learner has stored anything yet. Answers appear here as the class works.")
        return
    cols = st.columns(4)
    cols[0].metric("Learners", len(report.learners))
    cols[1].metric("Quiz answers", sum(r.quiz_answers for r in report.learners))
    cols[2].metric("Explain it prompts tried", len(report.prompts))  # one per row of the Explain it table
    cols[3].metric("Lab runs", len(report.lab_runs))
    tabs = st.tabs(["❓ Quiz questions", "✍️ Explain it", "🧪 Lab runs", "👥 Learners"])
    for tab, draw in zip(tabs, (quiz_tab, explain_tab, lab_tab, learners_tab)):
        with tab:
            draw(report)


st.title("🧑‍🏫 Teacher's view")
CODE = gate.configured_code()
if not CODE:
    closed()
elif S.get(UNLOCKED) == gate.digest(CODE):
    class_view(CODE)
else:
    passcode_form(CODE)
