"""The dataset registry's names, importable without torch (core.data.datasets holds the loaders).

A config, a lesson check or a link needs only the names; datasets.py imports torch.
tests/test_registry_names.py keeps DATASET_NAMES equal to datasets.DATASETS.
"""

DATASET_NAMES: tuple[str, ...] = (
    "mnist", "textures", "faces", "digits", "fashion-mnist", "elpv", "flowers102", "oxford-pets", "eurosat", "cifar10",
)
DEFAULT_DATASET = "mnist"
