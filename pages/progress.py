import streamlit as st

st.title("progress")
st.info("This page is being written.")
