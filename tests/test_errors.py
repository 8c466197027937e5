"""Errors a learner sees share one base class; the pool and the CLI show their message as it is."""
import pytest

from core.cli import main as cli_main
from core.data.imagefiles import DataError
from core.errors import LearnerError
from core.jobs.manager import JobManager
from core.models import backbones as models
from core.models.weights import WeightsUnavailable
from core.train.config import ConfigError, TrainConfig
from core.train.engine import run_training


def test_every_learner_error_is_one():
    for kind in (ConfigError, DataError, WeightsUnavailable, models.UnknownName):
        assert issubclass(kind, LearnerError)
    with pytest.raises(LearnerError, match="Unknown model 'vgg99'"):
        models.backbone_spec("vgg99")
    with pytest.raises(LearnerError, match="two classes"):
        models.build_model("mobilenet_v2", 1, pretrained=False)


def test_nothing_trainable_in_epoch_one_is_refused_before_training():
    cfg = TrainConfig(dataset="faces", per_class=4, val_per_class=4, image_size=32, epochs=3, trainable=(),
                      unfreeze_at={2: ("head",)})
    with pytest.raises(ConfigError, match="Nothing trains in epoch 1.*from epoch 2"):
        run_training(cfg)


def _raise(exc):
    def runner(cfg, on_event, stop, data):
        raise exc
    return runner


@pytest.mark.parametrize("exc, shown", [
    (models.UnknownName("Unknown model 'vgg99'; choose one of mobilenet_v2."), "Unknown model 'vgg99'; choose"),
    (ValueError("index out of range"), "ValueError: index out of range"),  # a bug: its type is named
])
def test_the_pool_shows_a_learner_error_as_written_and_names_a_bug(exc, shown):
    jm = JobManager(max_running=1, runner=_raise(exc))
    try:
        job = jm.submit(TrainConfig(), owner="t")
        assert job.wait(10)
        snap = job.snapshot()
        assert snap.status == "failed" and snap.message.startswith(shown)
    finally:
        jm.shutdown()


def test_the_cli_prints_a_learner_error_without_a_traceback(capsys):
    assert cli_main(["--dataset", "faces", "--per-class", "2", "--size", "32", "--trainable", "layer9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "layer9" in err and "Traceback" not in err
