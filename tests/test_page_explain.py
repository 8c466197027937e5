"""AppTest of the Explain it page: the matcher's notes are labelled as suggestions, the mark comes
from the probes and the learner's own check, and it reaches the progress store."""
import os

from core.classroom.progress import ProgressStore
from core.content.explain_probes import option_order
from tests.test_pages_learning import L, click, isolated_db, page, texts  # noqa: F401 (autouse fixture)


def answer(at, prompt_id, text):
    at.selectbox("explain_prompt").set_value(prompt_id).run()
    at.text_area("explain_text").input(text)
    return click(at, "explain_score")


def press(at, label):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def pick_probes(at, prompt, right: bool):
    """Choose each probe's right option (or a wrong one) by its text, as the learner sees it."""
    for p in prompt.probes:
        index = p.correct_index if right else (p.correct_index + 1) % len(p.options)
        at.radio(f"explain_probe_{prompt.id}_{p.id}").set_value(p.options[index].text)
    return press(at, "Check my answers")


def history(at):
    return ProgressStore(os.environ["FTLAB_DB"]).explain_history(at.session_state["learner"])


def test_the_matcher_only_suggests_and_says_so():
    prompt = L.prompts[0]
    at = answer(page("explain"), prompt.id, prompt.model_answer)
    shown = texts(at)
    assert "suggestions, not a mark" in shown and "never marks an idea as mastered" in shown
    assert all(item.label in shown for item in prompt.checklist)  # "We spotted ..." every idea
    assert "Your mark" not in shown and prompt.model_answer not in shown  # no mark, answer hidden until probes
    assert [(h["prompt_id"], h["method"], h["probes_right"]) for h in history(at)] == [(prompt.id, "probes", None)]


def test_a_reversed_idea_gets_you_may_mean_the_opposite_with_the_learners_words():
    prompt = L.by_id("prompts", "explain-discriminative")
    wrong = "The early layers should get a larger learning rate than the head."
    at = answer(page("explain"), prompt.id, f"Each layer gets a different learning rate. {wrong}")
    shown = texts(at)
    assert f"You may mean the opposite of “{prompt.checklist[1].label}”" in shown and wrong in shown


def test_a_perfect_text_with_wrong_probes_is_not_mastered():
    """The text matcher spots every idea in the model answer, yet the mark follows the probes."""
    prompt = L.prompts[0]
    at = pick_probes(answer(page("explain"), prompt.id, prompt.model_answer), prompt, right=False)
    assert len(at.error) == len(prompt.probes)  # each probe: not quite, with why and the right option
    assert prompt.model_answer in texts(at)  # the model answer shows once the probes are answered
    for item in prompt.checklist:
        at.checkbox(f"explain_self_{prompt.id}_{item.id}").check()
    press(at, "Save my mark")
    n, k = len(prompt.checklist), len(prompt.probes)
    assert any(f"Your mark: **{n} of {n + k}: 0 of {k} probes right" in w.value for w in at.warning)
    assert not any("mastered" in s.value for s in at.success)
    assert [(h["found"], h["total"], h["probes_right"]) for h in history(at)] == [(n, n + k, 0)]


def test_right_probes_and_a_full_self_check_are_mastered_and_stored():
    prompt = L.by_id("prompts", "explain-freezing")
    at = pick_probes(answer(page("explain"), prompt.id, "Frozen layers keep their weights."), prompt, right=True)
    assert len(at.success) == len(prompt.probes)
    for item in prompt.checklist:
        at.checkbox(f"explain_self_{prompt.id}_{item.id}").check()
    press(at, "Save my mark")
    n = len(prompt.checklist) + len(prompt.probes)
    assert any(f"Your mark: **{n} of {n}" in s.value and "Every idea mastered" in s.value for s in at.success)
    assert ProgressStore(os.environ["FTLAB_DB"]).explain_best(at.session_state["learner"]) == {prompt.id: (n, n)}


def test_probe_options_are_shown_in_the_learners_own_order():
    prompt = L.prompts[0]
    at = answer(page("explain"), prompt.id, "Some answer.")
    probe = prompt.probes[0]
    order = option_order(at.session_state["learner"], prompt.id, probe.id, len(probe.options))
    assert list(at.radio(f"explain_probe_{prompt.id}_{probe.id}").options) == [probe.options[i].text for i in order]


def test_unanswered_probes_count_as_wrong_and_say_so():
    prompt = L.prompts[0]
    at = press(answer(page("explain"), prompt.id, "Some answer."), "Check my answers")
    assert sum("Not answered" in w.value for w in at.warning) == len(prompt.probes)


def test_an_empty_answer_gets_a_gentle_message_and_nothing_else():
    at = page("explain")
    at.text_area("explain_text").input("   ")
    click(at, "explain_score")
    assert any("Nothing to check yet" in i.value for i in at.info)
    assert not at.radio and L.prompts[0].model_answer not in texts(at)
    assert ProgressStore(os.environ["FTLAB_DB"]).learners() == []  # nothing stored
