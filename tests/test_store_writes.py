"""Which store calls a page replays after a database failure is declared on the store, not guessed from
method names: every public method that writes is in ProgressStore.REPLAYED_WRITES or UNREPLAYED_WRITES."""
import inspect

import pytest
from streamlit.testing.v1 import AppTest

from core.classroom.progress import ProgressStore


def _public_methods() -> dict[str, object]:
    return {name: fn for name, fn in inspect.getmembers(ProgressStore, inspect.isfunction) if not name.startswith("_")}


def _writes(fn) -> bool:
    source = inspect.getsource(fn)
    return "self._write(" in source or "write=True" in source


def test_every_public_writing_method_is_declared():
    writing = {name for name, fn in _public_methods().items() if _writes(fn)}
    declared = ProgressStore.REPLAYED_WRITES | ProgressStore.UNREPLAYED_WRITES
    assert writing - declared == set(), "writes that say neither way whether a page may replay them"
    assert declared - writing == set(), "declared writes that are no (longer) writing methods of the store"
    assert ProgressStore.REPLAYED_WRITES.isdisjoint(ProgressStore.UNREPLAYED_WRITES)


PAGE = """
import streamlit as st

from core.classroom.progress import ProgressError, ProgressStore
from ui.common import _PENDING_KEY, safe_store_call


class Broken(ProgressStore):
    def _connection(self, write):
        raise ProgressError("the database is locked")


store = Broken(st.session_state["path"])
safe_store_call(getattr(store, st.session_state["method"]), *st.session_state["args"])
st.session_state["queued"] = [name for name, _, _ in st.session_state[_PENDING_KEY]]
"""


@pytest.mark.parametrize("method,args,queued", [
    ("set_card_status", ("learner-1", "card-1", True), True),
    ("mark_done", ("learner-1", "pitfall", "item-1"), True),
    ("clear_lab_runs", ("learner-1",), False),
    ("claim_name", ("browser-1", "Ada"), False),
])
def test_a_failed_write_is_queued_only_when_declared_replayed(tmp_path, method, args, queued):
    script = tmp_path / "page.py"
    script.write_text(PAGE)
    at = AppTest.from_file(str(script), default_timeout=30)
    at.session_state["path"] = str(tmp_path / "progress.sqlite3")
    at.session_state["method"] = method
    at.session_state["args"] = args
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["queued"] == ([method] if queued else [])
