"""Fine-Tuning Lab: the frame shared by every page (navigation, learner identity, page config).

Streamlit runs it through web/entry.py (which says why the entry script is not this file).
"""

# pandas first, before any page draws a chart: Plotly checks for it with a bare look in sys.modules,
# so a chart drawn while another session was still importing pandas met a half-made module
# ("partially initialized module 'pandas' has no attribute 'Series'": 9 of 332 page runs of a fresh
# server in bench/load_test.py). An import statement waits for the other thread's import to finish.
import pandas  # noqa: F401
import streamlit as st

from ui.common import accessibility_fixes, learner_sidebar, not_kept_note, remember_page
from ui.page_files import page_file

st.set_page_config(page_title="Fine-Tuning Lab", page_icon="🔬", layout="wide")

# url_path values are stable: lesson links and shared lab links point at them.
# The default page lives at "/" whatever its url_path, so /home would be "Page not found"; a hidden
# page owns /home and switches to "/" (the first visit of a server found it through pages/home.py).
HOME = st.Page(page_file("home"), title="Home", icon="🏠", url_path="start", default=True)
PAGES = {
    "Start": [
        HOME,
        st.Page(lambda: st.switch_page(HOME), title="Home", url_path="home", visibility="hidden"),
    ],
    "Learn": [
        st.Page(page_file("concepts"), title="Concepts", icon="📘", url_path="concepts"),
        st.Page(page_file("deep_dive"), title="Deep dive", icon="🤿", url_path="deep_dive"),
        st.Page(page_file("pitfalls"), title="Pitfalls", icon="🕳️", url_path="pitfalls"),
    ],
    "Check yourself": [
        st.Page(page_file("flashcards"), title="Flashcards", icon="🃏", url_path="flashcards"),
        st.Page(page_file("quiz"), title="Quiz", icon="❓", url_path="quiz"),
        st.Page(page_file("explain"), title="Explain it", icon="✍️", url_path="explain"),
        st.Page(page_file("practice"), title="Practice", icon="🧩", url_path="practice"),
        st.Page(page_file("progress"), title="Progress", icon="📈", url_path="progress"),
    ],
    "Hands on": [
        st.Page(page_file("lab"), title="Lab", icon="🧪", url_path="lab"),
    ],
    # The class's progress, behind FTLAB_TEACHER_CODE (closed without it).
    "Teach": [
        st.Page(page_file("teacher"), title="Teacher", icon="🧑‍🏫", url_path="teacher"),
    ],
}

# Pages that record answers say so when no nickname keeps them (a note above the page's title).
RECORDING_PAGES = {"flashcards", "quiz", "explain", "practice", "progress", "concepts", "deep_dive"}

page = st.navigation(PAGES)
remember_page(page.url_path)
learner_sidebar()
with st.sidebar:
    accessibility_fixes()
if page.url_path in RECORDING_PAGES:
    not_kept_note()
page.run()
