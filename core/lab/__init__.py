"""The Lab's material: presets and classroom demos with their claims, the stored demo results, the data
behind the lesson figures, and the code generated for a learner's setup (``codegen`` and its templates).
"""

__all__ = ["codegen", "demo_store", "lesson_figures", "presets"]
