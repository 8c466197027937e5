"""Tests; importing core first sets the OpenMP wait policy before torch loads."""
import core  # noqa: F401
