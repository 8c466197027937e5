"""Two preprocessing claims the lessons make, measured on the real ImageNet MobileNetV2 weights.

Why: the lessons once said a one-channel first layer "throws away" the pretrained filters (summing
the three RGB kernels is exactly the same layer for a grey image), and that BatchNorm never makes up
for a missing `Normalize` (in train mode its batch statistics absorb most of the shift at the stem;
in eval mode, the usual frozen setting, they do not). The figures in the lesson text come from here.
"""
import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "cat", "immunohistochemistry", "retina")


@pytest.fixture(scope="module")
def net():
    return mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1)


@pytest.fixture(scope="module")
def photos():
    """Real colour photos from scikit-image, 0..1, 224 px: what a learner forgets to normalise."""
    arrays = [np.asarray(Image.fromarray(getattr(data, n)()[..., :3]).resize((224, 224))) for n in PHOTOS]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


def one_channel_stem(conv: torch.nn.Conv2d) -> torch.nn.Conv2d:
    """The pretrained stem convolution for a one-channel input: its three RGB kernels summed."""
    one = torch.nn.Conv2d(1, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False)
    one.weight.data = conv.weight.detach().sum(dim=1, keepdim=True)
    return one


@torch.no_grad()
def test_summed_kernels_are_the_same_layer_for_equal_copies(net, photos):
    conv = net.features[0][0]
    grey = photos.mean(dim=1, keepdim=True) * 2 - 1           # Keras-style -1..1: every channel alike
    three = conv(grey.repeat(1, 3, 1, 1))
    assert (three - one_channel_stem(conv)(grey)).abs().max() < 1e-5 * three.abs().max()


@torch.no_grad()
def test_per_channel_normalize_folds_into_the_summed_kernel(net, photos):
    """With torchvision's per-channel Normalize: 1/std goes into each kernel, the means into a bias.
    Exact away from the one-pixel zero-padded border."""
    conv = net.features[0][0]
    grey = photos.mean(dim=1, keepdim=True)
    three = conv((grey.repeat(1, 3, 1, 1) - MEAN) / STD)
    folded = one_channel_stem(conv)
    folded.weight.data = (conv.weight / STD.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    bias = -(conv.weight * (MEAN / STD).view(1, 3, 1, 1)).sum(dim=(1, 2, 3))
    one = folded(grey) + bias.view(1, -1, 1, 1)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))
    assert (three[inner] - one[inner]).abs().max() < 1e-4 * three.abs().max()


def _stem_change(net, photos, train_mode: bool) -> float:
    """Relative change of the stem's output (conv, BatchNorm, ReLU6) when Normalize is left out."""
    stem = net.features[0].train(train_mode)
    with torch.no_grad():
        right, raw = stem((photos - MEAN) / STD), stem(photos)
    stem.eval()
    return float((right - raw).norm() / right.norm())


def test_missing_normalize_harms_far_more_with_batchnorm_in_eval_mode(net, photos):
    eval_change, train_change = _stem_change(net, photos, False), _stem_change(net, photos, True)
    # measured: about 0.33 in eval mode, 0.08 in train mode (7 photos, batch of 7)
    assert eval_change > 0.2 and train_change < 0.12 and eval_change > 3 * train_change, (eval_change, train_change)

