import streamlit as st

st.title("flashcards")
st.info("This page is being written.")
