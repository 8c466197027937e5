"""Check-yourself pages in a real browser: quiz feedback, flipping a flashcard, scoring an explanation."""
import re

import pytest
from playwright.sync_api import Page, expect

from core.content.lessons import load_lessons
from tests.e2e.helpers import assert_no_exception, click_button, key, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

L = load_lessons()


def plain(markdown: str) -> str:
    """Text as the browser shows a markdown string: no emphasis marks or backticks, spaces collapsed."""
    text = re.sub(r"[*_`]", "", markdown)
    return re.sub(r"\s+", " ", text).strip()


def current_question(page: Page):
    """The question on screen: the lesson question whose prompt's first line the page shows."""
    main_text = plain(page.locator('[data-testid="stMain"]').inner_text())
    shown = [q for q in L.questions if plain(q.prompt.splitlines()[0]) in main_text]
    assert shown, "no lesson question's prompt is on the quiz page"
    return max(shown, key=lambda q: len(q.prompt))  # the most specific match


def pick_option(page: Page, text: str) -> None:
    radio = page.locator('[data-testid="stRadio"]').filter(has_text=plain(text)).last
    radio.locator("label").filter(has_text=plain(text)).first.click()


def test_quiz_right_then_wrong_answer_shows_feedback(page):
    open_page(page, "/quiz", "Question 1 of")
    # Question 1: the right answer.
    q = current_question(page)
    right = next(o for o in q.options if o.correct)
    pick_option(page, right.text)
    click_button(page, "quiz_submit")
    feedback = page.locator('[data-testid="stAlert"]').filter(has_text="Correct!")
    expect(feedback).to_be_visible()
    expect(feedback).to_contain_text(plain(right.why)[:60])
    expect(page.get_by_text(re.compile(r"Score: 1 of 1 answered"))).to_be_visible()
    wait_idle(page)
    shot(page, "quiz-right")

    # Question 2: a wrong answer; the page says why and names the right one.
    click_button(page, "quiz_next")
    expect(page.get_by_text("Question 2 of", exact=False)).to_be_visible()
    expect(page.locator('[data-testid="stMain"]')).not_to_contain_text(plain(q.prompt.splitlines()[0]))
    wait_idle(page)
    q2 = current_question(page)
    assert q2.id != q.id
    wrong = next(o for o in q2.options if not o.correct)
    right2 = next(o for o in q2.options if o.correct)
    pick_option(page, wrong.text)
    click_button(page, "quiz_submit")
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="Not quite.")).to_contain_text(plain(wrong.why)[:60])
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="Right answer:")).to_contain_text(plain(right2.text))
    expect(page.get_by_text(re.compile(r"Score: 1 of 2 answered"))).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "quiz-wrong")


def test_flashcard_flip_shows_the_back(page):
    open_page(page, "/flashcards", "Card 1 of")
    main = page.locator('[data-testid="stMain"]')
    front_text = main.locator("h3").first.inner_text()
    card = next(c for c in L.cards if plain(c.front) == plain(front_text))
    expect(main.get_by_text(plain(card.back)[:50])).to_have_count(0)
    click_button(page, "card_flip")
    expect(main.get_by_text(plain(card.back)[:50], exact=False)).to_be_visible()
    expect(key(page, "card_flip")).to_contain_text("Hide answer")
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "flashcards-flipped")


def test_explain_it_suggests_then_asks_the_probes(page):
    open_page(page, "/explain", "Your explanation")
    prompt = L.prompts[0]  # the selectbox's first prompt is shown by default
    expect(page.locator('[data-testid="stMain"] h3').first).to_contain_text(plain(prompt.prompt)[:40])
    box = key(page, "explain_text").locator("textarea")
    box.fill("Fine-tuning starts from a pretrained network trained on ImageNet and keeps training it "
             "on my own new images, so it reuses the features it already learned.")
    box.press("Control+Enter")  # commit the text area (the click below would do it too)
    wait_idle(page)
    click_button(page, "explain_score")
    expect(key(page, "explain_suggestions")).to_contain_text("We spotted")
    for probe in prompt.probes:
        expect(key(page, f"explain_probe_{prompt.id}_{probe.id}")).to_contain_text(probe.question)
    expect(page.get_by_text("Model answer", exact=True)).to_have_count(0)  # not before the probes
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "explain-scored")
