"""Streamlit page scripts (thin views over core/). Importing core first sets the OpenMP wait
policy before any page imports torch (see core/__init__.py)."""

import core  # noqa: F401
