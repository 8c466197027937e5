"""The identity box of the app frame under AppTest: take a nickname, be refused someone else's,
move one with its recovery code; and the note while answers are not kept under a name."""
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.classroom.progress import ProgressStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "web" / "entry.py")  # what the server runs (asgi.py): app.py, the frame


@pytest.fixture(autouse=True)
def db(tmp_path, monkeypatch):
    path = str(tmp_path / "progress.sqlite3")
    monkeypatch.setenv("FTLAB_DB", path)
    st.cache_resource.clear()
    return path


def browser() -> AppTest:
    """A new browser (no cookie yet) on the home page."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def claim(at: AppTest, name: str) -> AppTest:
    at.text_input("identity_name").input(name)
    label = "Rename" if "Rename" in [b.label for b in at.button] else "Keep my answers under this name"
    return submit(at, label)


def sidebar_text(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "success", "error", "warning", "code")
                     for e in getattr(at.sidebar, kind))


def shown_code(at: AppTest) -> str:
    return at.sidebar.code[0].value


def move_by_code(laptop: AppTest, name: str = "ada") -> tuple[AppTest, str]:
    """A second browser moves `name` from `laptop` with the recovery code `laptop` shows; (it, the code)."""
    code = shown_code(laptop)
    phone = browser()
    phone.text_input("identity_recover_name").input(name)
    phone.text_input("identity_recover_code").input(code)
    submit(phone, "Move it to this browser")
    return phone, code


def test_a_new_browser_is_told_its_answers_are_not_kept_under_a_name():
    at = browser()
    assert "Not saved under a name" in sidebar_text(at)
    at.switch_page(str(ROOT / "pages" / "flashcards.py")).run()
    assert any("kept for this browser only" in c.value for c in at.caption)


def test_claim_then_another_browser_is_refused_the_name(db):
    ada = claim(browser(), "ada")
    assert "now kept under “ada”" in sidebar_text(ada)
    assert ada.session_state["learner"] == "ada"
    code = shown_code(ada)
    assert len(code) == 14  # shown once, to write down

    ada.switch_page(str(ROOT / "pages" / "flashcards.py")).run()
    ada.button("card_flip").click().run()
    ada.button("card_known").click().run()
    assert not any("kept for this browser only" in c.value for c in ada.caption)

    other = claim(browser(), "Ada")
    assert "taken by another browser" in sidebar_text(other)
    assert other.session_state["learner"].startswith("browser:")
    other.switch_page(str(ROOT / "pages" / "progress.py")).run()
    assert any("No progress yet for this browser" in i.value for i in other.info)
    assert len(ProgressStore(db).card_statuses("ada")) == 1


def test_recovery_code_moves_the_name_to_another_browser(db):
    laptop = claim(browser(), "ada")
    phone, code = move_by_code(laptop)
    assert phone.session_state["learner"] == "ada"
    assert "now on this browser" in sidebar_text(phone)
    assert shown_code(phone) != code  # the next code, for the next move

    laptop.run()  # the laptop's next run finds it no longer holds the name
    assert laptop.session_state["learner"].startswith("browser:")
    assert "Not saved under a name" in sidebar_text(laptop)
    # and it says where the name went, not only "No progress yet"
    moved = "Your nickname **ada** moved to another browser"
    assert any(moved in i.value for i in laptop.sidebar.info)
    laptop.switch_page(str(ROOT / "pages" / "progress.py")).run()
    assert any(moved in i.value for i in laptop.main.info)


def test_a_bad_nickname_is_refused_with_a_reason():
    at = claim(browser(), "<b>ada</b>")
    assert "Use up to 40 letters" in sidebar_text(at)
    assert at.session_state["learner"].startswith("browser:")


def test_a_nickname_with_underscores_is_shown_as_typed():
    at = claim(browser(), "_ada_")
    assert at.session_state["learner"] == "_ada_"
    assert "**👤 \\_ada\\_**" in sidebar_text(at)  # escaped: not rendered as italics


# ---- FTLAB_DB=postgresql://... (issue 13): the same sidebar on a server database, and clear words when it fails

def test_a_nickname_taken_on_postgresql_is_refused_to_another_browser(pg_server, monkeypatch):
    url = pg_server.create_database()
    monkeypatch.setenv("FTLAB_DB", url)
    ada = claim(browser(), "ada")
    ada.switch_page(str(ROOT / "pages" / "flashcards.py")).run()
    ada.button("card_flip").click().run()
    ada.button("card_known").click().run()
    assert not ada.warning, [w.value for w in ada.warning]
    other = claim(browser(), "ADA")
    assert "taken by another browser" in sidebar_text(other)
    store = ProgressStore(url)
    assert store.backend == "postgresql" and len(store.card_statuses("ada")) == 1
    store.close()


@pytest.mark.parametrize("url, words", [
    ("postgresql://teacher:hunter2@127.0.0.1:1/class", "cannot be reached"),
    ("postgresql://teacher:hunter2@127.0.0.1/class?no_such_option=1", "not a valid PostgreSQL address"),
    ("mysql://teacher:hunter2@127.0.0.1/class", "only in PostgreSQL"),
])
def test_a_wrong_database_address_is_a_message_not_a_traceback(url, words, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", url)
    at = browser()
    at.switch_page(str(ROOT / "pages" / "flashcards.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [w.value for w in at.warning]
    assert len(shown) == 1 and words in shown[0] and "FTLAB_DB" in shown[0], shown
    claim(at, "ada")  # taking a name needs the database: the sidebar says why it cannot
    assert "Nicknames cannot be changed right now" in sidebar_text(at) and words in sidebar_text(at)
    assert "hunter2" not in sidebar_text(at) + "".join(shown)


def same_browser_later(at: AppTest, page: str | None = None) -> AppTest:
    """A fresh visit (a new session) from the browser of `at`: the same browser id, nothing else."""
    later = AppTest.from_file(APP, default_timeout=60)
    later.session_state["_browser_id"] = at.session_state["_browser_id"]
    later.run()
    if page:
        later.switch_page(page).run()
    assert not later.exception, [e.value for e in later.exception]
    return later


def test_a_fresh_visit_from_the_browser_a_name_left_says_where_it_went_and_how_to_get_it_back(db):
    laptop = claim(browser(), "ada")
    phone, code = move_by_code(laptop)

    today = f"{datetime.now(UTC):%-d %b %Y}"
    for page in (None, str(ROOT / "pages" / "progress.py")):
        later = same_browser_later(laptop, page)  # not the session that saw it go: a new visit
        note = " ".join(i.value for i in later.main.info)
        assert "Your nickname **ada** moved to another browser" in note, note
        assert today in note and "Move my nickname here" in note and "recovery code" in note
    assert "No progress yet" in " ".join(i.value for i in later.main.info)

    later.button("name_move_seen").click().run()  # put away: not said again
    assert "moved to another browser" not in " ".join(i.value for i in same_browser_later(laptop).main.info)
    assert "moved to another browser" not in " ".join(i.value for i in same_browser_later(phone).main.info)
