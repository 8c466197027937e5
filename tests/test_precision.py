"""The mixed-precision policy (core.train.precision), each CUDA capability faked on the CPU, and the
engine's training step going through the GradScaler exactly when the policy says fp16."""

import pytest
import torch

from core.train import engine, precision
from core.train.config import TrainConfig
from core.train.engine import run_training

CUDA = torch.device("cuda")


def _fake_cuda(monkeypatch, capability: tuple[int, int] | None) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: capability is not None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)


@pytest.mark.parametrize(
    "capability, want",
    [
        ((9, 0), precision.BF16),  # H100
        ((8, 6), precision.BF16),  # RTX 30xx
        ((8, 0), precision.BF16),  # A100: the first with fast bf16
        ((7, 5), precision.FP16_SCALED),  # T4
        ((7, 0), precision.FP16_SCALED),  # V100
        ((6, 1), precision.FP16_SCALED),  # GTX 10xx
    ],
)
def test_cuda_cards_get_bf16_from_capability_8_and_scaled_fp16_below(monkeypatch, capability, want):
    _fake_cuda(monkeypatch, capability)
    assert precision.policy(CUDA) == want
    assert precision.grad_scaler(CUDA).is_enabled() is want.scaled


def test_the_cpu_and_a_machine_without_cuda_stay_in_fp32(monkeypatch):
    _fake_cuda(monkeypatch, (9, 0))
    assert precision.policy(torch.device("cpu")) == precision.FP32
    _fake_cuda(monkeypatch, None)
    assert precision.policy(CUDA) == precision.FP32
    assert precision.policy(torch.device("cpu")).name == "fp32"
    assert not precision.grad_scaler(torch.device("cpu")).is_enabled()
    with precision.autocast(torch.device("cpu")):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


SMALL = TrainConfig(
    dataset="faces",
    per_class=8,
    val_per_class=10,
    image_size=32,
    epochs=2,
    batch_size=8,
    trainable=("stage6", "head"),
    seed=0,
    device="cpu",
)


def _spy_steps(monkeypatch) -> list[bool]:
    """Record, for each GradScaler.step the engine makes, whether that scaler was enabled."""
    seen: list[bool] = []
    real_step = torch.amp.GradScaler.step

    def step(self, optimizer, *args, **kwargs):
        seen.append(self.is_enabled())
        return real_step(self, optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.amp.GradScaler, "step", step)
    return seen


def test_training_steps_go_through_an_enabled_scaler_when_the_policy_says_fp16(monkeypatch):
    plain_steps = _spy_steps(monkeypatch)
    plain = run_training(SMALL)
    assert plain_steps and not any(plain_steps)  # the CPU's fp32: a disabled scaler, a plain step
    monkeypatch.undo()

    scaled_steps = _spy_steps(monkeypatch)
    monkeypatch.setattr(engine, "grad_scaler", lambda device: precision.grad_scaler(device, precision.FP16_SCALED))
    scaled = run_training(SMALL)
    assert len(scaled_steps) == len(plain.batches) and all(scaled_steps)
    # a power-of-two loss scale, undone before the step, leaves fp32 training unchanged
    for a, b in zip(scaled.epochs, plain.epochs, strict=True):
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-4)
        assert a.val_acc == pytest.approx(b.val_acc, abs=1e-6)
