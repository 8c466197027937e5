"""Running fine-tunes for many learners: the job manager and the worker backends it hands jobs to."""
