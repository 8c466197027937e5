"""The Lab's material: presets and classroom demos with their claims, the stored demo results, the data
behind the lesson figures (with the real first layer, ``stem_filters``, and an image through the first
blocks, ``first_blocks``), and the code generated for a learner's setup (``codegen`` and its templates).
"""

__all__ = ["codegen", "demo_store", "first_blocks", "lesson_figures", "presets", "stem_filters"]
