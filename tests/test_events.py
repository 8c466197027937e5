"""Run events: small, picklable values that survive a trip through a stored row."""
import json
import pickle

from core.train.config import TrainConfig
from core.train.engine import run_training
from core.train.events import BatchEnded, EpochEnded, RunEnded, RunStarted, as_row, from_row

TINY = dict(dataset="faces", per_class=4, val_per_class=4, image_size=32, epochs=1, batch_size=4, seed=0,
            trainable=("head",))


def test_every_event_of_a_real_run_pickles_small_and_unchanged():
    events = []
    run_training(TrainConfig(**TINY), on_event=events.append)
    assert {type(e) for e in events} == {RunStarted, BatchEnded, EpochEnded, RunEnded}
    for e in events:
        blob = pickle.dumps(e)
        assert pickle.loads(blob) == e
        if isinstance(e, BatchEnded):
            assert len(blob) < 400, len(blob)  # one per step crosses the process boundary


def test_a_stored_row_reads_back_as_the_same_event():
    events = []
    run_training(TrainConfig(**TINY), on_event=events.append)
    epoch = next(e for e in events if isinstance(e, EpochEnded))
    assert from_row(EpochEnded, as_row(epoch)) == epoch
    start = events[0]
    assert from_row(RunStarted, json.loads(json.dumps(as_row(start)))) == start  # tuples come back as lists


def test_a_thinned_row_fills_missing_fields_with_zero():
    b = from_row(BatchEnded, {"epoch": 2, "step": 1, "steps": 4, "loss": 0.5})
    assert (b.epoch, b.loss, b.acc, b.elapsed) == (2, 0.5, 0, 0)
