import streamlit as st

st.title("concepts")
st.info("This page is being written.")
