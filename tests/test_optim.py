"""Gradual unfreezing adds layer groups to the running optimizer instead of starting a new one."""
import torch

from core.models import backbones as models
from core.train.config import TrainConfig
from core.train.engine import run_training
from core.train.optim import add_groups, make_optimizer


def test_unfreezing_keeps_the_heads_adam_state():
    cfg = TrainConfig(lr=1e-3, group_lr={"stage6": 1e-4})
    model = models.build_model("mobilenet_v2", 2, pretrained=False, seed=0)
    models.set_trainable(model, {"head"})
    opt = make_optimizer(cfg, model, {"head"})
    x = torch.randn(4, 3, 32, 32)
    for _ in range(3):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    head_param = next(model.head.parameters())
    moment = opt.state[head_param]["exp_avg"].clone()

    models.set_trainable(model, {"head", "stage6"})
    add_groups(opt, cfg, model, ("stage6",))
    add_groups(opt, cfg, model, ("stage6",))  # asking twice adds nothing twice
    assert [g["name"] for g in opt.param_groups] == ["head", "stage6"]
    assert opt.param_groups[1]["lr"] == 1e-4 and opt.param_groups[1]["weight_decay"] == cfg.weight_decay
    assert float(opt.state[head_param]["step"]) == 3 and torch.equal(opt.state[head_param]["exp_avg"], moment)


def test_a_scheduled_group_trains_from_its_epoch_on():
    events = []
    r = run_training(TrainConfig(dataset="faces", per_class=8, val_per_class=6, image_size=32, epochs=2,
                                 batch_size=8, seed=0, trainable=("head",), unfreeze_at={2: ("stage6",)},
                                 group_lr={"stage6": 1e-4}), on_event=events.append)
    assert r.epochs[0].lrs == {"head": 1e-3} and r.epochs[1].lrs == {"head": 1e-3, "stage6": 1e-4}
    assert r.epochs[0].weight_change["stage6"] == 0.0 < r.epochs[1].weight_change["stage6"]
    assert any(type(e).__name__ == "GroupsUnfrozen" and e.epoch == 2 and e.groups == ("stage6",) for e in events)
