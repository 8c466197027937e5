"""AppTest checks for the learning pages: each renders, and each interaction shows what it promises.

Expected texts come from the lesson YAML (core.content.lessons), so the tests follow the content rather than
hard-coding it; every test asserts concrete values that a broken page would not produce.
"""
import html
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import streamlit as st
import yaml
from streamlit.testing.v1 import AppTest

import core.content.lessons
from core.classroom.progress import ProgressStore
from core.content.lessons import load_lessons

ROOT = Path(__file__).resolve().parents[1]
L = load_lessons()
LEARNING_PAGES = ["concepts", "deep_dive", "pitfalls", "flashcards", "quiz", "explain", "practice"]


@pytest.fixture(autouse=True)
def isolated_db(tmp_path, monkeypatch):
    """Every test gets its own progress database; the real one is never touched."""
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.db"))
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    st.cache_resource.clear()  # a store cached by an earlier test would point at its old database
    yield
    st.cache_resource.clear()


@pytest.fixture
def extra_lessons(tmp_path, monkeypatch):
    """The real lessons plus one predict step, one myth and one pitfall with a lab preset, so the
    reveal and link behaviour is tested even while the real content has none of them."""
    folder = tmp_path / "lessons"
    shutil.copytree(ROOT / "lessons", folder)
    deep = yaml.safe_load((folder / "deep_dive.yaml").read_text()) or {}
    deep.setdefault("steps", []).append({
        "id": "test-step-predict", "title": "Test step", "level": "beginner",
        "body": "Test body.", "result": "Test result text.", "insight": "Test insight text.",
        "predict": {"question": "Which one?", "options": ["Option zero", "Option one"], "answer": 1,
                    "reveal": "Test reveal text."},
    })
    deep.setdefault("myths", []).append({
        "id": "test-myth", "belief": "Test belief.", "predict_answer": False,
        "reality": "Test reality text.", "why_it_matters": "Test why-it-matters text.",
    })
    (folder / "deep_dive.yaml").write_text(yaml.safe_dump(deep, sort_keys=False))
    pits = yaml.safe_load((folder / "pitfalls.yaml").read_text())
    pits["pitfalls"].append({
        "id": "test-pitfall", "title": "Test pitfall", "concept": L.concepts[0].id,
        "wrong_code": "wrong_call()", "correct_code": "right_call()", "root_cause": "Test root cause.",
        "lab_preset": core.content.lessons.LAB_PRESET_IDS[0],
    })
    (folder / "pitfalls.yaml").write_text(yaml.safe_dump(pits, sort_keys=False))
    cards = yaml.safe_load((folder / "flashcards.yaml").read_text())
    cards["cards"] += [
        {"id": f"test-card-{i}", "concept": L.concepts[0].id, "level": "beginner",
         "front": f"Test front {i}?", "back": f"Test back {i}."}
        for i in (1, 2)
    ]
    (folder / "flashcards.yaml").write_text(yaml.safe_dump(cards, sort_keys=False))
    monkeypatch.setattr(core.content.lessons, "DEFAULT_FOLDER", folder)
    st.cache_resource.clear()  # the pages cache the lessons once per server
    return load_lessons(folder)


def page(name: str, learner: str | None = None, **query: str) -> AppTest:
    """A page in a new session: a new browser, unless `learner` (a progress key) says whose it is;
    `query` is the address's parameters (`concept="freezing-layers"`)."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=30)
    if learner:
        at.session_state["learner"] = learner
    for param, value in query.items():
        at.query_params[param] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything a learner can read on the page, as one string."""
    parts = []
    for kind in ("markdown", "success", "error", "info", "warning", "subheader", "caption"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def click(at: AppTest, key: str) -> AppTest:
    at.button(key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("name", LEARNING_PAGES)
def test_page_renders_without_exception(name):
    at = page(name)
    assert len(at.title) == 1 and at.title[0].value  # the real page, not an empty script


# ---- quiz -----------------------------------------------------------------------------------

def _quiz_first_question(at):
    radio = next(r for r in at.radio if r.key and r.key.startswith("quiz_choice_"))
    question = L.questions[0]  # level "all" keeps lesson order
    assert radio.key.endswith(question.id)
    return radio, question


def test_quiz_correct_answer_shows_success_and_explanation():
    at = page("quiz")
    radio, q = _quiz_first_question(at)
    radio.set_value(q.correct_option.text)
    click(at, "quiz_submit")
    assert len(at.success) == 1
    assert q.explanation in at.success[0].value
    assert not at.error
    assert at.progress[0].text.startswith("Score: 1 of 1 answered")


def test_quiz_wrong_answer_shows_its_why_and_the_right_answer():
    at = page("quiz")
    radio, q = _quiz_first_question(at)
    wrong = next(o for o in q.options if not o.correct)
    radio.set_value(wrong.text)
    click(at, "quiz_submit")
    assert len(at.error) == 1 and wrong.why in at.error[0].value
    assert any(q.explanation in i.value and q.correct_option.text in i.value for i in at.info)
    assert at.progress[0].text.startswith("Score: 0 of 1 answered")


def test_quiz_options_keep_their_order_across_reruns():
    at = page("quiz")
    first = list(_quiz_first_question(at)[0].options)
    at.run()
    assert list(_quiz_first_question(at)[0].options) == first
    assert sorted(first) == sorted(o.text for o in L.questions[0].options)


def test_quiz_submit_without_choice_asks_to_pick():
    at = click(page("quiz"), "quiz_submit")
    assert any("Pick one" in w.value for w in at.warning)
    assert not at.success and not at.error


def test_quiz_round_summary_retry_and_stored_history(tmp_path):
    # The smallest level keeps the round short however much content there is.
    level = min((lv for lv in ("beginner", "intermediate", "advanced") if L.at_level("questions", lv)),
                key=lambda lv: len(L.at_level("questions", lv)))
    questions = {q.id: q for q in L.at_level("questions", level)}
    at = page("quiz")
    at.radio("quiz_level").set_value(level).run()
    for _ in questions:  # answer every question wrongly
        radio = next(r for r in at.radio if r.key and r.key.startswith("quiz_choice_"))
        question = questions[radio.key.split("_", 3)[-1]]
        radio.set_value(next(o for o in question.options if not o.correct).text)
        click(at, "quiz_submit")
        click(at, "quiz_next")
    n = len(questions)
    assert any(h.value == f"You scored 0 of {n}" for h in at.subheader)
    store = ProgressStore(str(tmp_path / "progress.db"))
    me = at.session_state["learner"]
    assert [(r["score"], r["total"], r["level"]) for r in store.quiz_history(me)] == [(0, n, level)]
    assert store.missed_questions(me) == list(questions)

    click(at, "quiz_retry")  # the missed ones come back with a fresh, unanswered radio
    radio = next(r for r in at.radio if r.key and r.key.startswith("quiz_choice_"))
    assert radio.value is None and not radio.disabled
    assert "(retry)" in at.progress[0].text

    # A later visit offers the questions missed before.
    later = page("quiz", learner=me)
    assert [b for b in later.button if b.key == "quiz_missed_before"]
    assert not [b for b in page("quiz").button if b.key == "quiz_missed_before"]  # not another browser's


def _answer_current(at, right: bool):
    """Answer the question on screen (right or wrong) and return it."""
    radio = next(r for r in at.radio if r.key and r.key.startswith("quiz_choice_"))
    question = L.by_id("questions", radio.key.split("_", 3)[-1])
    radio.set_value(next(o for o in question.options if o.correct == right).text)
    click(at, "quiz_submit")
    return question


def test_quiz_switching_level_keeps_the_round():
    """Issue 10 item 8: switching level silently dropped the round; now each level keeps its own."""
    at = page("quiz")
    _answer_current(at, right=True)
    assert at.progress[0].text.startswith("Score: 1 of 1 answered")
    at.radio("quiz_level").set_value("beginner").run()
    assert at.progress[0].text.startswith("Score: 0 of 0 answered")
    assert any("kept for you: All" in c.value for c in at.caption)  # the learner is told, not left guessing
    at.radio("quiz_level").set_value("all").run()
    assert not at.exception
    assert at.progress[0].text.startswith("Score: 1 of 1 answered")


def test_quiz_answered_question_marks_the_chosen_and_the_right_option():
    """Issue 10 item 8: after answering, the options list itself shows which was chosen and which is right."""
    at = page("quiz")
    q = _answer_current(at, right=False)
    chosen = next(o for o in q.options if not o.correct)
    marked = "\n".join(m.value for m in at.markdown)
    assert f"❌ {chosen.text} — *your answer*" in marked
    assert f"✅ {q.correct_option.text} — *right answer*" in marked
    for other in q.options:  # every option is listed, so the learner sees the choice in context
        assert other.text in marked


def _finish_round(at, level: str, right: bool) -> int:
    at.radio("quiz_level").set_value(level).run()
    n = len(L.at_level("questions", level))
    for _ in range(n):
        _answer_current(at, right)
        click(at, "quiz_next")
    return n


def test_quiz_end_of_round_offers_one_retry_button(tmp_path):
    """Issue 10 item 8: the end of a round showed two retry buttons with different counts."""
    learner = "anon:retry-test"  # a browser that missed a question in an earlier visit
    ProgressStore(os.environ["FTLAB_DB"]).record_quiz_answer(
        learner, L.at_level("questions", "beginner")[0].id, "x", False)
    at = page("quiz", learner=learner)
    n = _finish_round(at, "advanced", right=False)
    retry = [b for b in at.button if b.key in ("quiz_retry", "quiz_missed_before")]
    assert [b.label for b in retry] == [f"Retry the {n} missed one(s)"]


def test_quiz_perfect_advanced_round_does_not_suggest_a_harder_level():
    """Issue 10 item 8: "try a harder level" was shown after Advanced, the hardest one."""
    at = page("quiz")
    _finish_round(at, "advanced", right=True)
    message = " ".join(s.value for s in at.success)
    assert "Perfect round" in message and "hardest" in message
    assert "harder" not in message.lower() and "Try the" not in message


def test_quiz_perfect_beginner_round_names_the_next_level():
    at = page("quiz")
    _finish_round(at, "beginner", right=True)
    assert any("Try the Intermediate level next" in s.value for s in at.success)


def _single_question_round(qid: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "quiz.py"), default_timeout=30)
    at.session_state["quiz_rounds"] = {"all": {"ids": [qid], "label": "all", "pos": 0, "answers": {},
                                               "recorded": False, "no": 1}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_quiz_diagnosis_question_draws_the_runs_curves():
    q = next(q for q in L.questions if q.curves)
    at = _single_question_round(q.id)
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    figure = json.loads(charts[0].proto.spec)
    drawn = {tr["name"]: tr["y"] for tr in figure["data"]}
    assert drawn["validation loss"] == list(q.curves.get("val_loss"))
    assert any(q.curves.source in c.value for c in at.caption)


def test_quiz_printout_question_shows_the_output_as_text():
    q = next(q for q in L.questions if q.output and not q.code)
    at = _single_question_round(q.id)
    assert [c.value for c in at.code] == [q.output.rstrip()]
    assert at.code[0].language == "text"


# ---- flashcards ------------------------------------------------------------------------------

def test_flashcard_flip_shows_the_back():
    at = page("flashcards")
    card = L.cards[0]  # a fresh learner has no marks, so lesson order is kept
    assert card.front in texts(at)
    assert card.back not in texts(at)
    click(at, "card_flip")
    assert card.back in texts(at)


def test_flashcard_cannot_be_marked_before_it_is_flipped():
    at = page("flashcards")
    assert at.button("card_known").disabled and at.button("card_not_yet").disabled
    assert any("Flip the card to mark it" in c.value for c in at.caption)
    click(at, "card_flip")
    assert not at.button("card_known").disabled and not at.button("card_not_yet").disabled


def test_flashcard_buttons_have_keyboard_shortcuts():
    at = page("flashcards")
    keys = {k: at.button(k).proto.shortcut.upper() for k in ("card_flip", "card_known", "card_not_yet",
                                                     "card_prev", "card_next", "card_shuffle")}
    assert keys == {"card_flip": "F", "card_known": "K", "card_not_yet": "N", "card_prev": "P",
                    "card_next": "J", "card_shuffle": "S"}


def test_flashcard_know_it_changes_the_count():
    at = page("flashcards")
    n = len(L.cards)
    assert at.progress[0].text == f"Known: 0 of {n} cards"
    click(at, "card_flip")
    click(at, "card_known")
    assert at.progress[0].text == f"Known: 1 of {n} cards"
    assert at.button("card_known").disabled  # the next card is shown face down


def test_flashcard_marks_are_stored_and_not_yet_cards_come_first(extra_lessons):
    first, second = extra_lessons.cards[0], extra_lessons.cards[1]
    at = page("flashcards")
    assert first.front in texts(at)
    click(at, "card_flip")
    click(at, "card_known")  # first card known, moves on to the second
    assert second.front in texts(at)
    click(at, "card_flip")
    click(at, "card_not_yet")
    n = len(extra_lessons.cards)
    later = page("flashcards", learner=at.session_state["learner"])  # a new session, same browser
    assert later.progress[0].text == f"Known: 1 of {n} cards"
    assert second.front in texts(later) and first.front not in texts(later)
    stranger = page("flashcards")  # another browser sees none of it
    assert stranger.progress[0].text == f"Known: 0 of {n} cards"


# ---- deep dive -------------------------------------------------------------------------------

def _predict_choose(at, step_id: str, text: str) -> None:
    """Pick a prediction by its text: the page shuffles the options per session."""
    radio = at.radio(f"dive_step_{step_id}_choice")
    radio.set_value(list(radio.options).index(text))


def test_deep_dive_reveal_hidden_until_prediction_locked(extra_lessons):
    step = extra_lessons.by_id("steps", "test-step-predict")
    at = page("deep_dive")
    for hidden in (step.body, step.predict.reveal, step.result, step.insight):
        assert hidden not in texts(at)
    _predict_choose(at, step.id, step.predict.answer_text)
    click(at, f"dive_step_{step.id}_lock")
    for shown in (step.body, step.predict.reveal, step.result, step.insight):
        assert shown in texts(at)
    assert any(step.predict.answer_text in s.value for s in at.success)
    assert at.radio(f"dive_step_{step.id}_choice").disabled  # a locked prediction cannot change


def test_deep_dive_wrong_prediction_is_called_out(extra_lessons):
    step = extra_lessons.by_id("steps", "test-step-predict")
    wrong = next(o for o in step.predict.options if o != step.predict.answer_text)
    at = page("deep_dive")
    _predict_choose(at, step.id, wrong)
    click(at, f"dive_step_{step.id}_lock")
    assert any(wrong in e.value and step.predict.answer_text in e.value for e in at.error)


def test_deep_dive_step_text_never_shows_above_its_question():
    """Issue 10 item 6: each step's text answered its own prediction before the learner committed."""
    at = page("deep_dive")
    shown = texts(at)
    for step in L.steps:
        assert step.predict.question in shown
        for hidden in (step.body, step.predict.reveal, step.result, step.insight):
            assert hidden not in shown, (step.id, hidden[:60])


def test_deep_dive_steps_done_counter_counts_the_step_just_locked():
    """Issue 10 item 6: the counter was drawn before the step was marked, so it lagged one step."""
    at = page("deep_dive")
    n = len(L.steps)
    assert at.progress[0].text == f"Steps done: 0 of {n}"
    for done, step in enumerate(L.steps[:2], start=1):
        _predict_choose(at, step.id, step.predict.answer_text)
        click(at, f"dive_step_{step.id}_lock")
        assert at.progress[0].text == f"Steps done: {done} of {n}"


def _option_orders(seed: int) -> dict:
    at = AppTest.from_file(str(ROOT / "pages" / "deep_dive.py"), default_timeout=30)
    at.session_state["dive_seed"] = seed
    at.run()
    assert not at.exception
    orders = {s.id: list(at.radio(f"dive_step_{s.id}_choice").options) for s in L.steps}
    at.run()  # a rerun in the same session keeps the order
    assert orders == {s.id: list(at.radio(f"dive_step_{s.id}_choice").options) for s in L.steps}
    return orders


def test_deep_dive_prediction_options_are_shuffled_per_session():
    first, second = _option_orders(1), _option_orders(2)
    assert first != second  # 7 steps of 3 options: two seeds giving the same 7 orders is (1/6)^7
    for step in L.steps:
        assert sorted(first[step.id]) == sorted(step.predict.options)
    # The keyed answer does not sit at one position for every step.
    assert len({first[s.id].index(s.predict.answer_text) for s in L.steps}) >= 2


def test_deep_dive_true_statement_is_graded_true():
    myth = next(m for m in L.myths if m.predict_answer)
    at = page("deep_dive")
    at.radio(f"dive_myth_{myth.id}_choice").set_value(0)  # "True"
    click(at, f"dive_myth_{myth.id}_lock")
    assert any("Right" in s.value and "true" in s.value for s in at.success)
    assert myth.reality in texts(at)


def test_deep_dive_myth_needs_an_answer_before_reality(extra_lessons):
    myth = extra_lessons.by_id("myths", "test-myth")  # the belief is false
    at = page("deep_dive")
    assert myth.reality not in texts(at)
    click(at, f"dive_myth_{myth.id}_lock")  # locking with no answer only asks for one
    assert myth.reality not in texts(at)
    at.radio(f"dive_myth_{myth.id}_choice").set_value(0)  # "True": wrong
    click(at, f"dive_myth_{myth.id}_lock")
    assert myth.reality in texts(at) and myth.why_it_matters in texts(at)
    assert any("Not quite" in e.value and "false" in e.value for e in at.error)


# ---- practice --------------------------------------------------------------------------------

def _step_titles(problem) -> list[str]:
    return [f"Step {i}: {s.title}" for i, s in enumerate(problem.steps, start=1)]


def test_practice_asks_for_an_answer_before_any_step():
    at = page("practice")
    problem = L.problems[0]
    assert not any(t in texts(at) for t in _step_titles(problem))
    assert not [b for b in at.button if b.key == "practice_next_step"]
    next(b for b in at.button if b.label == "Lock in my answer").click().run()  # nothing given yet
    assert any("Pick or write an answer first" in w.value for w in at.warning)
    assert not any(t in texts(at) for t in _step_titles(problem))


def test_practice_reveals_steps_one_at_a_time_after_a_committed_answer():
    problem = next(p for p in L.problems if not p.options)
    at = AppTest.from_file(str(ROOT / "pages" / "practice.py"), default_timeout=30)
    at.session_state["practice_problem"] = problem.id
    at.run()
    at.text_area(f"practice_text_{problem.id}").input("Freeze the backbone, train the new head.")
    next(b for b in at.button if b.label == "Lock in my answer").click().run()
    assert "**Your answer:** Freeze the backbone, train the new head." in texts(at)
    titles = _step_titles(problem)
    for shown in range(1, len(titles) + 1):
        page_text = texts(at)
        assert all(t in page_text for t in titles[:shown])
        assert not any(t in page_text for t in titles[shown:])
        if shown < len(titles):
            assert problem.answer not in page_text
            click(at, "practice_next_step")
    assert problem.answer in texts(at)
    assert problem.quick_check in texts(at)


def test_practice_choice_is_judged_against_the_right_option():
    problem = next(p for p in L.problems if p.options and p.answer_index is not None)
    wrong = next(i for i in range(len(problem.options)) if i != problem.answer_index)
    at = AppTest.from_file(str(ROOT / "pages" / "practice.py"), default_timeout=30)
    at.session_state["practice_problem"] = problem.id
    at.run()
    at.radio(f"practice_choice_{problem.id}").set_value(wrong)
    next(b for b in at.button if b.label == "Lock in my answer").click().run()
    for _ in problem.steps[1:]:  # committing opened the first step
        click(at, "practice_next_step")
    right = "ABCDEFGH"[problem.answer_index]
    assert f"You chose {'ABCDEFGH'[wrong]}; the right choice is {right}." in texts(at)
    click(at, "practice_reset")  # starting again asks for an answer again
    assert [b for b in at.button if b.label == "Lock in my answer"]


# ---- pitfalls and concepts: lab links --------------------------------------------------------

def _lab_links(at) -> str:
    """Lab links as text: page_link query strings (inside the app) or markdown fallbacks (standalone)."""
    return "\n".join([p.proto.query_string for p in at.get("page_link")] + [m.value for m in at.markdown])


def test_pitfall_lab_link_carries_the_preset(extra_lessons):
    pitfall = extra_lessons.by_id("pitfalls", "test-pitfall")
    at = page("pitfalls", pitfall=pitfall.id)
    assert f"preset={pitfall.lab_preset}" in _lab_links(at)
    shown = _diff_blocks(at)
    assert pitfall.wrong_code in shown["wrong"] and pitfall.correct_code in shown["correct"]


# ---- pitfalls: wrong vs correct with the changed lines marked ----------------------------------

def _diff_lines(block: str) -> list[tuple[bool, str]]:
    """(marked as changed, code text) per line of one rendered diff block."""
    rows = re.findall(r'<span class="ftl-diff-line( ftl-changed)?".*?<span aria-hidden="true"[^>]*>. </span>(.*?)</span>', block)
    return [(bool(changed), html.unescape(text).rstrip()) for changed, text in rows]


def _diff_blocks(at) -> dict[str, str]:
    """Code of every wrong / correct block on the page, joined, as the learner reads it."""
    out = {"wrong": [], "correct": []}
    for m in at.markdown:
        for side in out:
            if f'class="ftl-diff ftl-diff-{side}"' in m.value:
                out[side].append("\n".join(text for _, text in _diff_lines(m.value)))
    return {side: "\n\n".join(blocks) for side, blocks in out.items()}


@pytest.fixture
def diff_pitfall(extra_lessons):
    """One more pitfall whose two snippets differ in exactly one line, with a long comment line."""
    folder = Path(extra_lessons.folder)
    pits = yaml.safe_load((folder / "pitfalls.yaml").read_text())
    shared = "model = build()\nfor p in model.parameters():   # " + "a long comment that must stay on its line " * 3
    pits["pitfalls"].append({
        "id": "test-diff", "title": "Test diff pitfall", "concept": L.concepts[0].id,
        "wrong_code": shared + "\n    p.requires_grad = True\ntrain(model)",
        "correct_code": shared + "\n    p.requires_grad = False\ntrain(model)",
        "root_cause": "Test diff root cause.",
    })
    (folder / "pitfalls.yaml").write_text(yaml.safe_dump(pits, sort_keys=False))
    load_lessons.cache_clear()
    st.cache_resource.clear()
    return load_lessons(folder).by_id("pitfalls", "test-diff")


def test_pitfall_marks_exactly_the_changed_line_on_both_sides(diff_pitfall):
    at = page("pitfalls", pitfall=diff_pitfall.id)
    for side, code in (("wrong", diff_pitfall.wrong_code), ("correct", diff_pitfall.correct_code)):
        lines = [line.rstrip() for line in code.split("\n")]
        # every line shown, in order, none wrapped into two or lost
        block = next(m.value for m in at.markdown if f'class="ftl-diff ftl-diff-{side}"' in m.value
                     and [text for _, text in _diff_lines(m.value)] == lines)
        assert [text for changed, text in _diff_lines(block) if changed] == [lines[2]]
        assert "white-space:pre;" in block  # a long comment scrolls sideways instead of wrapping


def test_every_real_pitfall_shows_both_snippets_with_a_marked_change():
    at = page("pitfalls")
    for pitfall in L.pitfalls:  # one at a time: each opened by its address
        at.query_params["pitfall"] = pitfall.id
        at.run()
        wrong = [m.value for m in at.markdown if 'class="ftl-diff ftl-diff-wrong"' in m.value]
        correct = [m.value for m in at.markdown if 'class="ftl-diff ftl-diff-correct"' in m.value]
        assert len(wrong) == len(correct) == 1, pitfall.id
        w, c = wrong[0], correct[0]
        assert [t for _, t in _diff_lines(w)] == [line.rstrip() for line in pitfall.wrong_code.split("\n")]
        assert [t for _, t in _diff_lines(c)] == [line.rstrip() for line in pitfall.correct_code.split("\n")]
        assert any(ch for ch, _ in _diff_lines(c)), f"{pitfall.id}: no line marked as the fix"


# ---- figures, contents, code tabs -----------------------------------------------------------

def _charts(at) -> dict[str, object]:
    """Plotly charts on the page by figure id (their element keys are figure_<id>)."""
    return {fig.id: chart for fig in L.figures for chart in at.get("plotly_chart")
            if chart.proto.id and f"figure_{fig.id}" in chart.proto.id}


@pytest.mark.parametrize("name,place", [("concepts", "concept"), ("pitfalls", "pitfall")])
def test_pages_draw_their_figures_with_alt_text_and_caption(name, place):
    import json

    placed = [f for f in L.figures if getattr(f, place)]
    assert placed, f"figures.yaml places no figure in a {place}"
    at = page(name)
    texts_shown = 0
    for fig in placed:  # one item at a time: each figure's item opened by its address
        at.query_params[place] = getattr(fig, place)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        charts = _charts(at)
        assert set(charts) == {f.id for f in placed if getattr(f, place) == getattr(fig, place)}
        texts_shown += sum(e.label == "Text version of this figure" for e in at.expander) == len(charts)
        captions = [c.value for c in at.caption]
        proto = charts[fig.id].proto
        assert proto.alt == fig.alt  # the chart's accessible name
        spec = json.loads(proto.spec)
        assert spec["data"] or spec["layout"].get("shapes"), fig.id  # a drawn figure, not an empty frame
        assert fig.caption in captions
    assert texts_shown == len(placed)  # a text version beside every chart


def test_a_figure_that_cannot_be_drawn_gives_a_message_not_a_traceback(tmp_path, monkeypatch):
    import core.lab.lesson_figures

    monkeypatch.setattr(core.lab.lesson_figures, "DATA_FILE", tmp_path / "missing.json")
    st.cache_data.clear()
    measured = [f for f in L.figures if f.kind in core.lab.lesson_figures.MEASURED_KINDS and f.concept]
    assert measured
    try:
        for concept in {f.concept for f in measured}:
            at = page("concepts", concept=concept)
            here = [f for f in L.figures if f.concept == concept]
            failed = [f for f in measured if f.concept == concept]
            assert sum("bench.lesson_data" in w.value for w in at.warning) == len(failed)
            assert len(_charts(at)) == len(here) - len(failed)
    finally:
        st.cache_data.clear()


def test_concepts_contents_open_every_concept_under_its_heading():
    at = page("concepts")
    toc = [b.key.removeprefix("concepts_toc_") for b in at.sidebar.button if b.key.startswith("concepts_toc_")]
    assert toc[:len(L.concepts)] == [c.id for c in L.concepts]  # teaching order
    assert toc[len(L.concepts):] == ["key-takeaways", "use-cases"]
    for target in (L.concepts[-1].id, "key-takeaways"):  # every entry lands on its own heading
        click(at, f"concepts_toc_{target}")
        assert [h.proto.anchor for h in list(at.subheader) + list(at.header) if h.proto.anchor] == [target]


def test_concepts_code_sits_in_framework_tabs_and_never_wraps():
    at = page("concepts")
    both = [c for c in L.concepts if c.pytorch and c.keras]
    assert both
    for concept in both:  # one at a time: each opened by its address
        at.query_params["concept"] = concept.id
        at.run()
        assert [t.label for t in at.tabs] == ["PyTorch", "Keras"], concept.id
        codes = [c.value for c in at.code]
        assert concept.pytorch.rstrip() in codes and concept.keras.rstrip() in codes
        assert not any(c.proto.wrap_lines for c in at.code)


def test_concept_mark_as_understood():
    concept = L.concepts[0]
    at = page("concepts")
    assert at.progress[0].text.startswith("Understood: 0 of")
    click(at, f"concepts_done_{concept.id}")
    assert at.progress[0].text.startswith("Understood: 1 of")
    assert not [b for b in at.button if b.key == f"concepts_done_{concept.id}"]


@pytest.mark.parametrize("name", LEARNING_PAGES)
def test_broken_database_never_breaks_a_page(name, tmp_path):
    (tmp_path / "progress.db").write_bytes(b"this is not an sqlite database" * 100)
    at = page(name)
    assert len(at.title) == 1


def test_flashcards_still_count_when_the_database_is_broken(tmp_path):
    (tmp_path / "progress.db").write_bytes(b"this is not an sqlite database" * 100)
    at = page("flashcards")
    click(at, "card_flip")
    click(at, "card_known")
    assert at.progress[0].text == f"Known: 1 of {len(L.cards)} cards"
    assert at.warning  # the learner is told progress is not being saved


def test_lab_links_are_page_links_with_the_preset_inside_the_app(tmp_path):
    """Under st.navigation the link is an st.page_link (keeps the session) carrying ?preset=<id>."""
    (tmp_path / "pages").symlink_to(ROOT / "pages")
    (tmp_path / "nav.py").write_text(
        "import streamlit as st\n"
        "st.navigation([st.Page('pages/concepts.py', url_path='concepts'),"
        " st.Page('pages/lab.py', url_path='lab')]).run()\n")
    concept = next(c for c in L.concepts if c.lab_preset)
    at = AppTest.from_file(str(tmp_path / "nav.py"), default_timeout=60)
    at.query_params["concept"] = concept.id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    links = [(p.proto.page, p.proto.query_string) for p in at.get("page_link")]
    assert links == [("lab", f"preset={concept.lab_preset}")]
