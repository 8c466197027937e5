"""What a finished run means: verdicts, statistics, time estimates, export, feature maps, Grad-CAM."""
