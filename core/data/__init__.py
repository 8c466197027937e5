"""Datasets: the registry of offline and online sets, the safe reading of learners' images and zips, and
the optional packages a dataset installs on first use. Nothing here knows about training; a run asks for
prepared tensors (``datasets.prepare``) and gets them from a bounded cache.
"""

__all__ = ["datasets", "imagefiles", "names", "optional_data"]
