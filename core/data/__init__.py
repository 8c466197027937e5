"""Datasets: the registry, loading class folders and archives, splits and prepared tensors."""
