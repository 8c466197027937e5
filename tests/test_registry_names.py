"""The name-only modules (importable without torch) list exactly what the registries hold."""
from core.content.lessons import LAB_PRESET_IDS
from core.data import datasets
from core.data import names as data_names
from core.lab.presets import PRESETS
from core.models import backbones
from core.models import names as model_names


def test_dataset_names_are_the_registry():
    assert data_names.DATASET_NAMES == tuple(datasets.DATASETS)
    assert data_names.DEFAULT_DATASET in datasets.DATASETS


def test_backbone_names_are_the_registry():
    assert model_names.BACKBONE_NAMES == tuple(backbones.BACKBONES)
    assert model_names.DEFAULT_BACKBONE in backbones.BACKBONES


def test_lessons_know_every_preset():
    assert set(LAB_PRESET_IDS) == set(PRESETS)
