"""Backbones as layer groups: counts by hand, freezing that really freezes, BatchNorm modes."""
import pytest
import torch
from torch import nn

from core.models import backbones as models


@pytest.fixture(scope="module")
def net():
    return models.build_model("mobilenet_v2", num_classes=10, pretrained=True, seed=0)


def conv_bn(cin, cout, k=3, groups=1):
    # A Conv2d without bias (k*k*cin/groups*cout) followed by BatchNorm (2*cout learnable).
    return k * k * (cin // groups) * cout + 2 * cout


def test_group_counts_match_a_hand_count(net):
    table = {g.name: g for g in models.group_table(net)}
    # stem: 3x3 conv 3->32 + BN, then block 1: depthwise 3x3 on 32 + BN, 1x1 32->16 + BN
    assert table["stem"].total == conv_bn(3, 32) + conv_bn(32, 32, groups=32) + conv_bn(32, 16, k=1)
    # head: Linear(1280 -> 10) with bias
    assert table["head"].total == 1280 * 10 + 10
    assert sum(g.total for g in table.values()) == sum(p.numel() for p in net.parameters())
    assert [g.name for g in models.group_table(net)] == net.group_names
    assert net.group_names == models.group_names("mobilenet_v2")


def test_resnet_groups_without_weights():
    names = models.group_names("resnet18")
    assert names == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]


def test_set_trainable_and_counts(net):
    models.set_trainable(net, {"head"})
    trainable, total = models.count_params(net)
    assert trainable == 12810 and total > 2_000_000
    assert models.frozen_groups(net) == net.group_names[:-1]
    with pytest.raises(ValueError, match="Unknown layer group"):
        models.set_trainable(net, {"nope"})


def test_frozen_weights_bitwise_unchanged_after_steps():
    net = models.build_model("mobilenet_v2", num_classes=3, pretrained=True, seed=0)
    models.set_trainable(net, {"stage6", "head"})
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.5, momentum=0.9)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 0])
    for _ in range(3):
        models.train_mode(net)
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = net.state_dict()
    for name, value in before.items():
        group = name.split(".")[1] if name.startswith("groups.") else "head"
        if group in ("stage6", "head"):
            continue
        # Weights AND BatchNorm running statistics of frozen groups stay bit-identical.
        assert torch.equal(value, after[name]), name
    assert not torch.equal(before["head.1.weight"], after["head.1.weight"])


def test_bn_of_frozen_groups_drifts_in_train_mode_unless_kept_in_eval():
    net = models.build_model("mobilenet_v2", num_classes=3, pretrained=True, seed=0)
    models.set_trainable(net, {"head"})
    key = "groups.stem.0.1.running_mean"
    start = net.state_dict()[key].clone()
    x = torch.randn(8, 3, 32, 32) * 3 + 1
    models.train_mode(net, frozen_bn_eval=True)
    with torch.no_grad():
        net(x)
    assert torch.equal(net.state_dict()[key], start)
    models.train_mode(net, frozen_bn_eval=False)
    with torch.no_grad():
        net(x)
    assert not torch.equal(net.state_dict()[key], start)


def test_prefix_and_suffix_compose_to_the_full_network(net):
    net.eval()
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        full = net(x)
        for cut in range(len(net.group_names)):
            assert torch.allclose(net.forward_from(net.features_until(x, cut), cut), full, atol=1e-5)


def test_head_is_replaced_for_n_classes():
    net = models.build_model("mobilenet_v2", num_classes=4, pretrained=True, seed=0).eval()
    assert net(torch.randn(1, 3, 32, 32)).shape == (1, 4)
    with pytest.raises(ValueError, match="two classes"):
        models.build_model("mobilenet_v2", num_classes=1)


def test_unknown_model_message():
    with pytest.raises(ValueError, match="Unknown model"):
        models.backbone_spec("vgg99")


@pytest.mark.parametrize("name", list(models.BACKBONES))
def test_titles_counts_and_normalisation_come_from_the_weights_enum(name):
    spec = models.BACKBONES[name]
    assert spec.title.startswith(f"{spec.label} ({spec.num_params / 1e6:.1f}M params, ")
    net = models.build_model(name, 1000, pretrained=False, seed=0)  # the ImageNet-sized head
    assert sum(p.numel() for p in net.parameters()) == spec.num_params
    # inputs.normalise uses one (mean, std) for every backbone: they must all agree
    from core.train.inputs import IMAGENET_MEAN, IMAGENET_STD
    assert spec.normalisation() == (IMAGENET_MEAN, IMAGENET_STD)


@pytest.mark.parametrize("name", models.BACKBONES)
def test_group_names_built_on_the_meta_device_match_a_real_model(name):
    spec = models.backbone_spec(name)
    real = [g for g, _ in spec.split(spec.builder(weights=None))] + [models.HEAD]
    assert models.group_names(name) == real
    models.group_names(name).append("mutated")  # callers get a copy of the cached names
    assert models.group_names(name) == real


@pytest.mark.parametrize("name", models.BACKBONES)
def test_parameter_counts_from_the_meta_device_match_a_real_model(name):
    from core.runs.estimate import group_sizes

    real = models.build_model(name, 7, pretrained=False, seed=0)
    assert group_sizes(name, 7) == tuple((g.name, g.total) for g in models.group_table(real))
