"""AppTest checks for the learning pages: each renders, and each interaction shows what it promises.

Expected texts come from the lesson YAML (core.lessons), so the tests follow the content rather than
hard-coding it; every test asserts concrete values that a broken page would not produce.
"""
import os
import shutil
from pathlib import Path

import pytest
import streamlit as st
import yaml
from streamlit.testing.v1 import AppTest

import core.lessons
from core.lessons import load_lessons
from core.progress import ProgressStore

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
        "lab_preset": core.lessons.LAB_PRESET_IDS[0],
    })
    (folder / "pitfalls.yaml").write_text(yaml.safe_dump(pits, sort_keys=False))
    cards = yaml.safe_load((folder / "flashcards.yaml").read_text())
    cards["cards"] += [
        {"id": f"test-card-{i}", "concept": L.concepts[0].id, "level": "beginner",
         "front": f"Test front {i}?", "back": f"Test back {i}."}
        for i in (1, 2)
    ]
    (folder / "flashcards.yaml").write_text(yaml.safe_dump(cards, sort_keys=False))
    monkeypatch.setattr(core.lessons, "DEFAULT_FOLDER", folder)
    st.cache_resource.clear()  # the pages cache the lessons once per server
    return load_lessons(folder)


def page(name: str, learner: str | None = None) -> AppTest:
    """A page in a new session: a new browser, unless `learner` (a progress key) says whose it is."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=30)
    if learner:
        at.session_state["learner"] = learner
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


# ---- explain it ------------------------------------------------------------------------------

def test_explain_good_answer_gets_full_marks():
    at = page("explain")
    prompt = L.prompts[0]
    answer = "In short: " + ", and ".join(item.any_of[0] for item in prompt.checklist) + "."
    at.text_area("explain_text").input(answer)
    click(at, "explain_score")
    n = len(prompt.checklist)
    assert any(f"{n} of {n}" in s.value for s in at.success)
    assert prompt.model_answer in texts(at)
    history = ProgressStore(os.environ["FTLAB_DB"]).explain_history(at.session_state["learner"])
    assert [(h["prompt_id"], h["found"], h["total"]) for h in history] == [(prompt.id, n, n)]


def test_explain_empty_answer_gets_a_gentle_message_not_a_score():
    at = page("explain")
    at.text_area("explain_text").input("   ")
    click(at, "explain_score")
    assert any("Nothing to score yet" in i.value for i in at.info)
    assert not at.success and not at.warning
    assert L.prompts[0].model_answer not in texts(at)


# ---- deep dive -------------------------------------------------------------------------------

def test_deep_dive_reveal_hidden_until_prediction_locked(extra_lessons):
    step = extra_lessons.by_id("steps", "test-step-predict")
    at = page("deep_dive")
    for hidden in (step.predict.reveal, step.result, step.insight):
        assert hidden not in texts(at)
    at.radio(f"dive_step_{step.id}_choice").set_value(step.predict.answer)
    click(at, f"dive_step_{step.id}_lock")
    for shown in (step.predict.reveal, step.result, step.insight):
        assert shown in texts(at)
    assert any(step.predict.answer_text in s.value for s in at.success)
    assert at.radio(f"dive_step_{step.id}_choice").disabled  # a locked prediction cannot change


def test_deep_dive_wrong_prediction_is_called_out(extra_lessons):
    step = extra_lessons.by_id("steps", "test-step-predict")
    at = page("deep_dive")
    at.radio(f"dive_step_{step.id}_choice").set_value(0)
    click(at, f"dive_step_{step.id}_lock")
    assert any(step.predict.options[0] in e.value and step.predict.answer_text in e.value for e in at.error)


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
    at = page("pitfalls")
    assert f"preset={pitfall.lab_preset}" in _lab_links(at)
    assert any(c.value.strip() == pitfall.wrong_code.strip() for c in at.code)
    assert any(c.value.strip() == pitfall.correct_code.strip() for c in at.code)


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
    at = AppTest.from_file(str(tmp_path / "nav.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    links = [(p.proto.page, p.proto.query_string) for p in at.get("page_link")]
    assert links == [("lab", f"preset={c.lab_preset}") for c in L.concepts if c.lab_preset]
