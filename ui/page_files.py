"""Where the page scripts are, for st.Page, st.page_link and st.switch_page.

Streamlit resolves a relative page path against its entry script's folder, and that is web/ (see
web/entry.py), not this project's root: so pages are named by absolute path.
"""

from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"


def page_file(name: str) -> str:
    """The absolute path of pages/<name>.py."""
    return str(PAGES_DIR / f"{name}.py")
