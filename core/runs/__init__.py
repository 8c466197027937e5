"""What a finished run means: verdicts and mistakes (``analysis``), statistics, the time estimate made
before a run, export, feature maps and Grad-CAM, and the quiz generated from a run's own numbers.
"""

__all__ = ["analysis", "estimate", "export", "feature_map", "gradcam", "run_quiz", "stats"]
