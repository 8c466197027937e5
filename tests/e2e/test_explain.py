"""Explain it in a real browser, the whole loop: a learner writes an answer, reads the matcher's
suggestions (labelled as such), answers the probes and checks their own text, which gives the mark;
the teacher reads the answer, marks it and comments; the learner finds the comment on Progress."""
import pytest
from playwright.sync_api import expect

from core.classroom.class_report import plain
from core.classroom.progress import item_label
from core.content.lessons import load_lessons
from tests.e2e.conftest import TEACHER_CODE
from tests.e2e.helpers import assert_no_exception, choose, key, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

PROMPT = load_lessons().by_id("prompts", "explain-freezing")
ANSWER = ("A frozen layer is left out of the updates, so it keeps what it learned. I keep the early "
          "layers frozen since they find edges; the layers near the output get trained. (e2e walk)")
COMMENT = "Good: now say why the layers near the output are the ones to train."


def label(prompt) -> str:
    return f"{prompt.prompt.splitlines()[0][:90]} ({prompt.level})"


def press(page, name: str) -> None:
    page.get_by_role("button", name=name).click()
    wait_idle(page)
    assert_no_exception(page)


def write_probe_and_check(page) -> None:
    open_page(page, "/explain", "Your explanation")
    choose(page, "explain_prompt", label(PROMPT))
    wait_idle(page)
    box = key(page, "explain_text").locator("textarea")
    box.fill(ANSWER)
    box.press("Control+Enter")
    wait_idle(page)
    key(page, "explain_score").locator("button").click()
    notes = key(page, "explain_suggestions")
    expect(notes).to_contain_text("suggestions, not a mark")
    expect(notes).to_contain_text("never marks an idea as mastered")
    for probe in PROMPT.probes:  # the right option of each probe, wherever this learner sees it
        key(page, f"explain_probe_{PROMPT.id}_{probe.id}").get_by_text(
            probe.options[probe.correct_index].text, exact=True).click()
    press(page, "Check my answers")
    expect(page.get_by_text("Model answer", exact=True)).to_be_visible()
    for item in PROMPT.checklist[:2]:  # the learner ticks what their text says
        key(page, f"explain_self_{PROMPT.id}_{item.id}").locator("label").first.click()
    press(page, "Save my mark")
    probes, ideas = len(PROMPT.probes), len(PROMPT.checklist)
    expect(page.get_by_text(f"Your mark: {probes + 2} of {probes + ideas}", exact=False)).to_be_visible()
    shot(page, "explain-marked")


def teacher_comments(browser, app_url) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        open_page(page, "/teacher", "Type the teacher passcode")
        page.locator(".st-key-teacher_code input").fill(TEACHER_CODE)
        press(page, "Open the class view")
        page.get_by_role("tab", name="Explain it").click()
        choose(page, "teacher_explain_prompt", plain(item_label(PROMPT)))  # as the Teacher page names it
        wait_idle(page)
        answer = page.locator('[class*="st-key-teacher_answer_"]').filter(has_text="(e2e walk)")
        expect(answer).to_have_count(1)
        expect(answer).to_contain_text(f"probes {len(PROMPT.probes)} of {len(PROMPT.probes)}")
        answer.get_by_text("Partly there", exact=True).click()
        answer.locator("textarea").fill(COMMENT)
        answer.get_by_role("button", name="Save review").click()
        expect(page.get_by_text("the learner sees your mark and comment", exact=False)).to_be_visible()
        assert_no_exception(page)
        shot(page, "teacher-review")
    finally:
        context.close()


def test_learner_writes_probes_and_checks_then_reads_the_teachers_comment(page, browser, app_url):
    write_probe_and_check(page)
    teacher_comments(browser, app_url)
    open_page(page, "/progress", "Feedback from your teacher")
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text(COMMENT)).to_be_visible()
    expect(main.get_by_text("Partly there", exact=False).first).to_be_visible()
    shot(page, "progress-teacher-feedback")


def test_a_reversed_idea_is_suggested_as_the_opposite_with_the_learners_words(page):
    prompt = load_lessons().by_id("prompts", "explain-discriminative")
    wrong = "The early layers should get a larger learning rate than the head."
    open_page(page, "/explain", "Your explanation")
    choose(page, "explain_prompt", label(prompt))
    wait_idle(page)
    box = key(page, "explain_text").locator("textarea")
    box.fill(f"Each layer gets a different learning rate. {wrong}")
    box.press("Control+Enter")
    wait_idle(page)
    key(page, "explain_score").locator("button").click()
    notes = key(page, "explain_suggestions")
    expect(notes).to_contain_text(f"You may mean the opposite of “{prompt.checklist[1].label}”")
    expect(notes).to_contain_text(wrong)
    expect(page.get_by_role("button", name="Check my answers")).to_be_visible()  # the mark comes from the probes
    assert_no_exception(page)
