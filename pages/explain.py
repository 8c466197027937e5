import streamlit as st

st.title("explain")
st.info("This page is being written.")
