"""Lesson content as data: the loader and schema of ``lessons/*.yaml``, the "explain it" scoring and
the code diff of a pitfall. It imports no torch and, of core, only the Lab's preset ids, so content checks stay fast
(the import contract in pyproject.toml holds it to that).
"""

__all__ = ["codediff", "lessons", "scoring"]
