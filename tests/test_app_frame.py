"""Deep links on a fresh server rely on one private Streamlit attribute: fail loudly when it goes."""
from streamlit.testing.v1 import AppTest

from ui.common import PAGES_FLAG, pages_directory_flag_owner


def test_streamlit_still_has_the_pages_directory_flag():
    import streamlit

    assert pages_directory_flag_owner() is not None, (
        f"Streamlit {streamlit.__version__} no longer has {PAGES_FLAG}. ui.common.require_app_frame "
        f"turns it off so that a fresh server's first deep link (/quiz) runs through app.py; without it "
        f"such a visit shows Streamlit's old pages/ sidebar. Find the new switch (or st.navigation's "
        f"public replacement) and update pages_directory_flag_owner.")


PAGE = """
import streamlit as st

from ui.common import require_app_frame

st.session_state["runs"] = st.session_state.get("runs", 0) + 1
require_app_frame()
st.markdown("page body")
"""


def test_a_page_run_in_pages_directory_mode_turns_it_off(tmp_path):
    """As on a fresh server whose first visit is a deep link: Streamlit saw a pages/ folder beside
    the script and ran the page in the old mode."""
    (tmp_path / "pages").mkdir()
    (tmp_path / "page.py").write_text(PAGE)
    owner = pages_directory_flag_owner()
    try:
        at = AppTest.from_file(str(tmp_path / "page.py"), default_timeout=30).run()
        assert not at.exception
        assert owner.uses_pages_directory is False  # switched off by require_app_frame
        assert at.session_state["runs"] == 2 and at.markdown[0].value == "page body"  # one rerun, then the page
    finally:
        owner.uses_pages_directory = None
