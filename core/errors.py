"""The one base class for errors a learner sees: their message is written for people.

Why: the job pool, the command line and the Lab's form each decide whether an exception is the
learner's to fix (show its message, no traceback) or a bug (name its type, log the traceback). With
one base class they ask one question instead of listing four exception types that drift apart.
Subclasses keep their historic bases too (ConfigError is still a ValueError), so old handlers work.
"""

from __future__ import annotations


class LearnerError(Exception):
    """Something the learner can fix; str(error) says what happened and what to do."""


class MissingExtra(LearnerError, RuntimeError):
    """An optional part of the app (one of the requirements-*.txt files) is not installed here."""


def install_command(extra: str) -> str:
    """The exact command that installs an optional part into ./ftlab's virtualenv."""
    return f"`.venv/bin/pip install -r requirements-{extra}.txt`"
