"""Streamlit helpers shared by the page scripts in pages/. Importing core first sets the OpenMP wait
policy before any helper imports torch (see core/__init__.py)."""

import core  # noqa: F401

__all__ = ["common", "lab", "lesson_diagrams", "lesson_widgets", "live_chart"]
