"""The classroom: learners' progress and the stores that keep it (SQLite or PostgreSQL), browser
identity and nicknames, the teacher's passcode gate, and the class report the teacher sees.
"""

__all__ = ["class_report", "identity", "progress", "progress_db", "progress_pg", "teacher_gate"]
