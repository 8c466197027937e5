"""Two tiny real runs that the feature-map and Grad-CAM tests both read: the backbone frozen, and the
last stage trained. Faces at 32 px: two classes, a run in about a second on the 2-core CPU."""
from dataclasses import replace

import pytest

from core.runs.analysis import data_for
from core.train.config import TrainConfig
from core.train.engine import run_training

HEAD_ONLY = TrainConfig(dataset="faces", image_size=32, per_class=8, val_per_class=6, epochs=2, trainable=("head",))
LAST_STAGE = replace(HEAD_ONLY, trainable=("stage6", "head"), epochs=3)


@pytest.fixture(scope="module")
def head_only():
    result = run_training(HEAD_ONLY)
    return result, data_for(result)


@pytest.fixture(scope="module")
def last_stage():
    result = run_training(LAST_STAGE)
    return result, data_for(result)
