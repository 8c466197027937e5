"""Home: what Fine-Tuning Lab teaches, and where to start."""

import streamlit as st

from core.content.lessons import load_lessons
from ui.name_move_note import name_move_note
from ui.page_files import page_file
from ui.review_widgets import due_today_block

st.title("🔬 Fine-Tuning Lab")
st.markdown(
    "Learn how to **fine-tune** a computer-vision network: start from a model that already learned "
    "to see on ImageNet, freeze what it knows, replace its head, and adjust it to a new task with a "
    "small learning rate. Then check yourself, and try it for real in the lab: every run here trains "
    "a real ImageNet-pretrained MobileNetV2 on real images, on this machine."
)

name_move_note()
try:
    lessons = load_lessons()
    counts = (len(lessons.concepts), len(lessons.cards), len(lessons.questions), len(lessons.problems))
except Exception as exc:  # a broken lesson file must not take the home page down
    st.error(f"The lesson files could not be read: {exc}")
    lessons, counts = None, None
if lessons is not None:
    due_today_block(lessons, explain_empty=False)  # a new learner's Home stays as it was

st.subheader("Where to start")
col1, col2, col3 = st.columns(3)
with col1:
    st.markdown("#### 1 · Learn")
    st.markdown(
        "The ideas in order, from *what is a pretrained model* to layer-wise learning rates "
        "and gradual unfreezing, with PyTorch and Keras side by side."
    )
    st.page_link(page_file("concepts"), label="Concepts", icon="📘")
    st.page_link(page_file("deep_dive"), label="Deep dive: predict, then read", icon="🤿")
    st.page_link(page_file("pitfalls"), label="Common pitfalls", icon="🕳️")
with col2:
    st.markdown("#### 2 · Check yourself")
    st.markdown(
        "Flashcards, quizzes with explanations, explain-it-in-your-words prompts scored "
        "against a concept checklist, and practice problems solved step by step."
    )
    st.page_link(page_file("flashcards"), label="Flashcards", icon="🃏")
    st.page_link(page_file("quiz"), label="Quiz", icon="❓")
    st.page_link(page_file("explain"), label="Explain it", icon="✍️")
    st.page_link(page_file("practice"), label="Practice problems", icon="🧩")
with col3:
    st.markdown("#### 3 · Run it")
    st.markdown(
        "Freeze and unfreeze layer groups, pick learning rates, and watch training and "
        "validation curves live, on the GPU when there is one and on the CPU otherwise."
    )
    st.page_link(page_file("lab"), label="Open the lab", icon="🧪")
    st.page_link(
        page_file("lab"),
        label="Demo: pretrained vs from scratch",
        icon="🎬",
        query_params={"preset": "pretrained-vs-scratch"},
    )
    st.page_link(page_file("progress"), label="Your progress", icon="📈")

if counts:
    st.divider()
    c = st.columns(4)
    c[0].metric("Concepts", counts[0])
    c[1].metric("Flashcards", counts[1])
    c[2].metric("Quiz questions", counts[2])
    c[3].metric("Practice problems", counts[3])

st.caption(
    "Your answers are kept for this browser from the first click, and no one else can see "
    "them. Take a nickname in the sidebar to keep them under your name: it belongs to this "
    "browser, and a one-time recovery code moves it to another device. No account, no password."
)
