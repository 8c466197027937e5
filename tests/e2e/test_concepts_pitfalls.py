"""Concepts and Pitfalls in Chromium: code never wraps (issue 10: a wrapped comment landed under the
wrong line), PyTorch/Keras tabs switch, the contents links jump to their concept, the pitfall diff
marks its changed lines, and the lesson figures are drawn with their accessible names."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.content.lessons import load_lessons
from tests.e2e.helpers import assert_no_exception, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

L = load_lessons()
NARROW = {"width": 900, "height": 900}  # a laptop with the sidebar open: long lines cannot fit

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


def test_concept_code_keeps_each_comment_on_its_line_and_tabs_switch(page):
    concept = max((c for c in L.concepts if c.pytorch and c.keras), key=lambda c: len(_longest_line(c.pytorch)))
    line = _longest_line(concept.pytorch)
    assert "#" in line or len(line) > 80, "the test needs a long line (ideally with a comment)"
    page.set_viewport_size(NARROW)
    open_page(page, "/concepts")
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


def test_contents_links_jump_to_their_concept_and_back(page):
    open_page(page, "/concepts")
    toc = page.locator(".st-key-concepts_toc")
    links = toc.locator("a[href^='#']")
    assert links.count() >= len(L.concepts)
    target = L.concepts[-1]  # the farthest one: 17,000 px down
    toc.locator(f"a[href='#{target.id}']").click()
    heading = page.locator(f"[id='{target.id}']").first
    expect(heading).to_be_in_viewport()
    expect(heading).to_contain_text(target.title)
    expect(page).to_have_url(re.compile(f"#{re.escape(target.id)}$"))
    expect(toc).not_to_be_in_viewport()

    # a 'Contents' link on screen next to the concept (polled: the jump may still be scrolling)
    page.wait_for_function(
        """() => [...document.querySelectorAll("a[href='#contents']")].some(a => {
               const r = a.getBoundingClientRect();
               return a.textContent.includes('Contents') && r.height > 0 && r.top >= 0 && r.top <= innerHeight; })""")
    back = page.locator("a[href='#contents']").filter(has_text="Contents")
    on_screen = [i for i in range(back.count()) if (box := back.nth(i).bounding_box())
                 and 0 <= box["y"] <= page.viewport_size["height"] and box["height"] > 0]
    back.nth(on_screen[0]).click()
    expect(toc).to_be_in_viewport()
    assert_no_exception(page)


def test_pitfall_code_is_marked_where_it_changes_and_never_wraps(page):
    page.set_viewport_size(NARROW)
    open_page(page, "/pitfalls")
    wrong = page.locator(".ftl-diff-wrong")
    correct = page.locator(".ftl-diff-correct")
    expect(wrong).to_have_count(len(L.pitfalls))
    expect(correct).to_have_count(len(L.pitfalls))
    for i, pitfall in enumerate(L.pitfalls):
        block = correct.nth(i)
        assert block.locator(".ftl-changed").count() >= 1, f"{pitfall.id}: no line marked"
        line = _longest_line(pitfall.correct_code)
        layout = _layout(page, block, line)
        assert layout["white_space"] == "pre" and layout["visual_lines"] == 1, (pitfall.id, layout)
        # every source line is one rendered line: nothing wrapped, nothing lost
        assert block.locator(".ftl-diff-line").count() == len(pitfall.correct_code.rstrip("\n").split("\n"))
    expect(correct.first).to_have_attribute("tabindex", "0")  # a keyboard can scroll a long line
    # the markers are text, not only colour
    expect(correct.first.locator(".ftl-changed").first).to_contain_text("+")
    expect(wrong.first.locator(".ftl-changed").first).to_contain_text("−")
    assert_no_exception(page)


def test_lesson_figures_are_drawn_with_accessible_names(page):
    open_page(page, "/concepts")
    placed = [f for f in L.figures if f.concept]
    charts = page.locator('[data-testid="stPlotlyChart"]')
    expect(charts).to_have_count(len(placed), timeout=60_000)
    for fig in placed:
        chart = page.get_by_role("img", name=fig.alt)
        if not chart.count():  # the accessible name may sit on the chart's container instead
            chart = page.locator(f'[aria-label="{fig.alt}"]')
        assert chart.count() >= 1, f"{fig.id}: no element named by its alt text"
    curves = next(f for f in placed if f.kind == "curve-shapes")
    box = page.locator(f".st-key-figure_{curves.id}")
    box.scroll_into_view_if_needed()
    expect(box.locator(".main-svg").first).to_be_visible()
    wait_idle(page)
    shot(page, "concepts-with-figures")
    assert_no_exception(page)
