"""AppTest checks for Concepts and Pitfalls shown one item at a time: the contents list names every
item and marks the current one, Previous / Next step through them in lesson order, `?concept=` /
`?pitfall=` in the address picks the item, and a link to an unknown id says so and shows the first."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.content.lessons import load_lessons
from tests.test_pages_learning import click

ROOT = Path(__file__).resolve().parents[1]
L = load_lessons()
# page, address parameter, items in order, what the page shows of an item as its heading
PAGES = {
    "concepts": ("concept", L.concepts),
    "pitfalls": ("pitfall", L.pitfalls),
}


@pytest.fixture(autouse=True)
def isolated_db(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.db"))
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def open_page(name: str, item: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60)
    if item is not None:
        at.query_params[PAGES[name][0]] = item
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def heading(at: AppTest) -> str:
    """The title of the item shown: the one subheader inside the item's bordered container."""
    shown = [h.value for h in at.subheader if h.proto.anchor]
    assert len(shown) == 1, shown  # one item at a time
    return shown[0]


def toc_labels(at: AppTest, name: str) -> list[str]:
    return [b.label for b in at.sidebar.button if b.key and b.key.startswith(f"{name}_toc_")]


@pytest.mark.parametrize("name", PAGES)
def test_contents_lists_every_item_in_order_and_marks_the_current_one(name):
    _, items = PAGES[name]
    at = open_page(name, items[2].id)
    labels = toc_labels(at, name)
    assert [label.removeprefix("▶ ") for label in labels[: len(items)]] == [
        f"{i}. {item.title}" for i, item in enumerate(items, 1)
    ]
    marked = [label for label in labels if label.startswith("▶ ")]
    assert marked == [f"▶ 3. {items[2].title}"]
    assert heading(at).startswith(items[2].title)


@pytest.mark.parametrize("name", PAGES)
def test_next_and_previous_step_through_the_items_and_keep_the_address(name):
    param, items = PAGES[name]
    at = open_page(name)
    assert heading(at).startswith(items[0].title)
    assert not [b for b in at.button if b.key == f"{name}_prev"]  # nothing before the first
    click(at, f"{name}_next")
    assert heading(at).startswith(items[1].title)
    assert at.query_params[param] == items[1].id  # the address says where the reader is
    click(at, f"{name}_next")
    assert heading(at).startswith(items[2].title)
    click(at, f"{name}_prev")
    assert heading(at).startswith(items[1].title)
    assert at.query_params[param] == items[1].id


@pytest.mark.parametrize("name", PAGES)
def test_a_contents_entry_opens_its_item(name):
    param, items = PAGES[name]
    at = open_page(name)
    click(at, f"{name}_toc_{items[-2].id}")
    assert heading(at).startswith(items[-2].title)
    assert at.query_params[param] == items[-2].id


@pytest.mark.parametrize("name", PAGES)
def test_the_address_picks_the_item_and_the_last_has_no_next(name):
    _, items = PAGES[name]
    at = open_page(name, items[-1].id)
    assert heading(at).startswith(items[-1].title)
    assert not [b for b in at.button if b.key == f"{name}_next"]
    assert [b for b in at.button if b.key == f"{name}_prev"]
    assert not at.warning


@pytest.mark.parametrize("name", PAGES)
def test_an_unknown_id_says_so_and_shows_the_first_item(name):
    _, items = PAGES[name]
    at = open_page(name, "no-such-item")
    assert heading(at).startswith(items[0].title)
    assert any("no-such-item" in w.value.replace("\\", "") and "not here" in w.value for w in at.warning)


def test_an_old_anchor_in_the_address_still_lands_on_its_concept():
    concept = L.concepts[4]
    at = open_page("concepts", f"#{concept.id}")
    assert heading(at).startswith(concept.title) and not at.warning


def test_a_linked_concept_outside_the_level_picked_shows_and_resets_the_level():
    concept = next(c for c in L.concepts if c.level == "advanced")
    at = open_page("concepts")
    at.radio("concepts_level").set_value("beginner").run()
    assert all(L.by_id("concepts", h.proto.anchor).level == "beginner" for h in at.subheader if h.proto.anchor)
    at.query_params["concept"] = concept.id
    at.run()
    assert heading(at).startswith(concept.title)
    assert at.radio("concepts_level").value == "all"


def test_the_last_concept_leads_to_the_takeaways_and_use_cases_are_in_the_contents():
    at = open_page("concepts", L.concepts[-1].id)
    click(at, "concepts_to_takeaways")
    assert [h.proto.anchor for h in at.header] == ["key-takeaways"]
    assert L.takeaways[0].text in "\n".join(m.value for m in at.markdown)
    click(at, "concepts_toc_use-cases")
    assert [h.proto.anchor for h in at.header] == ["use-cases"]
    assert [h.value for h in at.subheader] == [case.title for case in L.use_cases]
    codes = [c.value for c in at.code]
    assert all(case.fine_tuned_code.rstrip() in codes for case in L.use_cases if case.fine_tuned_code)
