import streamlit as st

st.title("deep_dive")
st.info("This page is being written.")
