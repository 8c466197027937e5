"""Fine-Tuning Lab: the frame shared by every page (navigation, learner name, page config)."""
import streamlit as st

from pages.common import learner_sidebar

st.set_page_config(page_title="Fine-Tuning Lab", page_icon="🔬", layout="wide")

# url_path values are stable: lesson links and shared lab links point at them.
PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon="🏠", url_path="home", default=True),
    ],
    "Learn": [
        st.Page("pages/concepts.py", title="Concepts", icon="📘", url_path="concepts"),
        st.Page("pages/deep_dive.py", title="Deep dive", icon="🤿", url_path="deep_dive"),
        st.Page("pages/pitfalls.py", title="Pitfalls", icon="🕳️", url_path="pitfalls"),
    ],
    "Check yourself": [
        st.Page("pages/flashcards.py", title="Flashcards", icon="🃏", url_path="flashcards"),
        st.Page("pages/quiz.py", title="Quiz", icon="❓", url_path="quiz"),
        st.Page("pages/explain.py", title="Explain it", icon="✍️", url_path="explain"),
        st.Page("pages/practice.py", title="Practice", icon="🧩", url_path="practice"),
        st.Page("pages/progress.py", title="Progress", icon="📈", url_path="progress"),
    ],
    "Hands on": [
        st.Page("pages/lab.py", title="Lab", icon="🧪", url_path="lab"),
    ],
}

page = st.navigation(PAGES)
learner_sidebar()
page.run()
