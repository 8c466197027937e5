"""What a page echoes from its address is shown as text, never as Markdown: a crafted link must not
make a page show a clickable link (e.g. "sign in again") or fetch an image from another server.

AppTest gives the Markdown source the browser would render; markdown-it (CommonMark, as Streamlit's
renderer follows it) renders it here, and the result must hold no link and no image, while the
learner still reads what the link said."""
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from tests.helpers import lab_page, run_ok
from ui.common import md_text

ROOT = Path(__file__).resolve().parents[1]
# A link label and an image in one value; an autolink and a Streamlit colour directive besides.
CRAFTED = "[sign in again](https://evil.example/login) ![x](https://evil.example/pixel.png) " \
          "<https://evil.example> :red[alarm] $x^2$ *bold* `code`"


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def assert_shown_as_text(markdown: str) -> None:
    html = rendered(markdown)
    assert "<a " not in html and "<img" not in html and "<em>" not in html and "<code>" not in html, html
    # Streamlit's own syntax (colour directives, LaTeX) is not CommonMark: escaped too.
    assert not re.search(r"(?<!\\):red|(?<!\\)\$x", markdown), markdown


@pytest.mark.parametrize("text", [CRAFTED, "a\\]b", "under_score_", "# heading", "1. list", "- item", "> quote"])
def test_md_text_renders_as_the_same_characters(text):
    html = rendered(md_text(text))
    assert "<a " not in html and "<img" not in html and "<h1>" not in html and "<li>" not in html
    assert "<blockquote>" not in html


def test_a_crafted_quiz_link_is_echoed_as_text():
    at = AppTest.from_file(str(ROOT / "pages" / "quiz.py"), default_timeout=30)
    at.query_params["question"] = CRAFTED
    run_ok(at)
    warning = next(w.value for w in at.warning if "is not in the quiz" in w.value)
    assert_shown_as_text(warning)
    assert "sign in again" in rendered(warning) and "evil.example" in rendered(warning)


def test_a_crafted_lab_link_parameter_name_and_value_are_echoed_as_text():
    at = lab_page({CRAFTED: "1", "epochs": CRAFTED})
    run_ok(at)
    notes = [w.value for w in at.warning if "Ignored the link parameter" in w.value]
    assert len(notes) == 2, notes
    for note in notes:
        assert_shown_as_text(note)
        assert "sign in again" in rendered(note)
