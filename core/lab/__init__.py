"""The Lab's material: presets and demos, stored demo results, lesson figures, generated code."""
