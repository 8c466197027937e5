"""Lesson content as data: the YAML loader and schema, answer scoring, code diffs. No torch."""
