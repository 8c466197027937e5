"""Concepts and Pitfalls in Chromium: one item at a time (Next, the contents list and Back open the
right one; the page is no longer tens of thousands of px tall), code never wraps (issue 10: a wrapped
comment landed under the wrong line), PyTorch/Keras tabs switch, the pitfall diff marks its changed
lines, and the lesson figures are drawn with their accessible names."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.content.lessons import load_lessons
from tests.e2e.helpers import assert_no_exception, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

L = load_lessons()
NARROW = {"width": 900, "height": 900}  # a laptop with the sidebar open: long lines cannot fit
# The one long page was 25,900 px at 1280x900; one concept with its figure beside it fits in a few screens.
MAX_PAGE_PX = 6_000
# Streamlit scrolls inside stMain: the page's height is the larger of the two.
PAGE_HEIGHT_JS = """() => {
  const m = document.querySelector('[data-testid="stMain"]');
  return Math.max(document.body.scrollHeight, m ? m.scrollHeight : 0);
}"""

# For one source line of a code element: how many visual lines it takes (distinct tops of its
# client rects) and whether the block scrolls sideways. Text is split over highlighting spans, so
# the line is located by character offsets across the element's text nodes.
LINE_LAYOUT_JS = """([el, needle]) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = []; let text = '';
  while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.data; }
  const start = text.indexOf(needle);
  if (start < 0) return null;
  const end = start + needle.length;
  const at = (pos) => { for (let i = nodes.length - 1; i >= 0; i--) if (nodes[i][1] <= pos) return [nodes[i][0], pos - nodes[i][1]]; };
  const range = document.createRange();
  range.setStart(...at(start)); range.setEnd(...at(end - 1)); range.setEnd(range.endContainer, range.endOffset + 1);
  const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
  let scrolls = false;
  for (let e = el; e && e !== document.body; e = e.parentElement) if (e.scrollWidth > e.clientWidth + 2) scrolls = true;
  return {visual_lines: tops.size, white_space: getComputedStyle(el).whiteSpace, scrolls};
}"""


def _longest_line(code: str) -> str:
    return max(code.rstrip().split("\n"), key=len).strip()


def _layout(page: Page, locator, line: str) -> dict:
    result = locator.evaluate(f"el => ({LINE_LAYOUT_JS})([el, {line!r}])")
    assert result is not None, f"line not found in the code block: {line!r}"
    return result


def _plain(title: str) -> str:
    """A title as the browser shows it: `code` spans lose their backticks."""
    return title.replace("`", "")


def _heading(page: Page):
    """The heading of the item shown (its container is keyed concept_<id> / pitfall_<id>)."""
    return page.locator("[class*='st-key-concept_'] h3, [class*='st-key-pitfall_'] h3").first


def _expect_short_page(page: Page) -> int:
    """Polls until the page is under MAX_PAGE_PX (a rerun may still be removing the last item)."""
    page.wait_for_function(f"() => ({PAGE_HEIGHT_JS})() < {MAX_PAGE_PX}", timeout=30_000)
    return page.evaluate(PAGE_HEIGHT_JS)


def test_concept_code_keeps_each_comment_on_its_line_and_tabs_switch(page):
    concept = max((c for c in L.concepts if c.pytorch and c.keras), key=lambda c: len(_longest_line(c.pytorch)))
    line = _longest_line(concept.pytorch)
    assert "#" in line or len(line) > 80, "the test needs a long line (ideally with a comment)"
    page.set_viewport_size(NARROW)
    open_page(page, f"/concepts?concept={concept.id}")
    code = page.locator('[data-testid="stCode"] code').filter(has_text=line[:40]).first
    code.scroll_into_view_if_needed()
    layout = _layout(page, code, line)
    assert layout["white_space"] == "pre", layout  # the old side-by-side code was pre-wrap
    assert layout["visual_lines"] == 1, f"{line!r} wrapped onto {layout['visual_lines']} lines"
    assert layout["scrolls"], "a line wider than the block should scroll sideways"

    tabs = code.locator("xpath=ancestor::*[@data-testid='stTabs'][1]")
    tabs.get_by_role("tab", name="Keras").click()
    keras_line = _longest_line(concept.keras)
    keras_code = tabs.locator('[data-testid="stCode"] code').filter(has_text=keras_line[:40]).first
    expect(keras_code).to_be_visible()
    assert _layout(page, keras_code, keras_line)["visual_lines"] == 1
    assert_no_exception(page)


def test_next_contents_and_back_open_the_right_concept_on_a_short_page(page):
    first, second, last = L.concepts[0], L.concepts[1], L.concepts[-1]
    open_page(page, "/concepts")
    expect(_heading(page)).to_contain_text(_plain(first.title))
    toc = page.locator(".st-key-concepts_toc")
    expect(toc.get_by_role("button")).to_have_count(len(L.concepts) + 2)  # + takeaways, use cases
    expect(toc.get_by_role("button", name=f"1. {_plain(first.title)}")).to_contain_text("▶")  # the current one
    expect(toc.get_by_role("button").first).to_be_in_viewport()  # above the sidebar's nickname box

    page.locator(".st-key-concepts_next button").click()
    expect(_heading(page)).to_contain_text(_plain(second.title))
    expect(page).to_have_url(re.compile(rf"\?concept={re.escape(second.id)}$"))

    toc.locator(f".st-key-concepts_toc_{last.id} button").click()
    expect(_heading(page)).to_contain_text(_plain(last.title))
    expect(page).to_have_url(re.compile(rf"\?concept={re.escape(last.id)}$"))
    expect(page.locator(".st-key-concepts_next")).to_have_count(0)  # nothing after the last

    page.go_back()  # the browser's Back: the concept before, not the page before Concepts
    expect(_heading(page)).to_contain_text(_plain(second.title))
    wait_idle(page)
    assert_no_exception(page)


def test_every_concept_fits_in_a_few_screens(page):
    """Steps through every concept with Next: each one's page stays under MAX_PAGE_PX at 1280x900."""
    open_page(page, "/concepts")
    heights = {}
    for i, concept in enumerate(L.concepts):
        expect(_heading(page)).to_contain_text(_plain(concept.title))
        wait_idle(page)
        heights[concept.id] = _expect_short_page(page)
        assert_no_exception(page)
        if i + 1 < len(L.concepts):
            page.locator(".st-key-concepts_next button").click()
    print("page heights (px):", heights)


def test_pitfall_code_is_marked_where_it_changes_and_never_wraps(page):
    page.set_viewport_size(NARROW)
    open_page(page, "/pitfalls")
    for i, pitfall in enumerate(L.pitfalls):  # one at a time, stepping with Next
        expect(_heading(page)).to_contain_text(_plain(pitfall.title))
        wrong = page.locator(".ftl-diff-wrong")
        correct = page.locator(".ftl-diff-correct")
        expect(wrong).to_have_count(1)
        expect(correct).to_have_count(1)
        expect(correct.locator(".ftl-changed").first).to_be_attached()  # at least one line marked
        line = _longest_line(pitfall.correct_code)
        layout = _layout(page, correct, line)
        assert layout["white_space"] == "pre" and layout["visual_lines"] == 1, (pitfall.id, layout)
        # every source line is one rendered line: nothing wrapped, nothing lost
        expect(correct.locator(".ftl-diff-line")).to_have_count(len(pitfall.correct_code.rstrip("\n").split("\n")))
        if i == 0:
            expect(correct).to_have_attribute("tabindex", "0")  # a keyboard can scroll a long line
            # the markers are text, not only colour
            expect(correct.locator(".ftl-changed").first).to_contain_text("+")
            expect(wrong.locator(".ftl-changed").first).to_contain_text("−")
        _expect_short_page(page)
        assert_no_exception(page)
        if i + 1 < len(L.pitfalls):
            page.locator(".st-key-pitfalls_next button").click()


def test_lesson_figures_are_drawn_beside_their_concept_with_accessible_names(page):
    placed = [f for f in L.figures if f.concept]
    for concept_id in dict.fromkeys(f.concept for f in placed):  # lesson order, each concept once
        here = [f for f in placed if f.concept == concept_id]
        open_page(page, f"/concepts?concept={concept_id}")
        charts = page.locator('[data-testid="stPlotlyChart"]')
        expect(charts).to_have_count(len(here), timeout=60_000)
        for fig in here:
            chart = page.get_by_role("img", name=fig.alt)
            if not chart.count():  # the accessible name may sit on the chart's container instead
                chart = page.locator(f'[aria-label="{fig.alt}"]')
            assert chart.count() >= 1, f"{fig.id}: no element named by its alt text"
            # beside the text: the chart's left edge is right of the concept's body text
            box = page.locator(f".st-key-figure_{fig.id}").bounding_box()
            text = page.locator(f".st-key-concept_{concept_id} [data-testid='stColumn']").first.bounding_box()
            assert box and text and box["x"] >= text["x"] + text["width"] - 1, (fig.id, box, text)
    curves = next(f for f in placed if f.kind == "curve-shapes")
    open_page(page, f"/concepts?concept={curves.concept}")
    box = page.locator(f".st-key-figure_{curves.id}")
    box.scroll_into_view_if_needed()
    expect(box.locator(".main-svg").first).to_be_visible()
    wait_idle(page)
    shot(page, "concepts-with-figures")
    assert_no_exception(page)


@pytest.mark.parametrize("path,items", [("/concepts", L.concepts), ("/pitfalls", L.pitfalls)])
def test_an_old_anchor_link_still_opens_its_item(page, path, items):
    """Links from the one-long-page days (`/concepts#<id>`) open that item, now under ?<kind>=<id>."""
    target = items[len(items) // 2]
    open_page(page, f"{path}#{target.id}")
    # 60 s: the page runs twice (once to read the anchor in the browser), on a loaded machine
    expect(_heading(page)).to_contain_text(_plain(target.title), timeout=60_000)
    expect(page).to_have_url(re.compile(rf"\?(concept|pitfall)={re.escape(target.id)}$"))
    wait_idle(page)
    assert_no_exception(page)
