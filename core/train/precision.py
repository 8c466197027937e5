"""Which floating-point precision a training step runs in, decided once per device.

bf16 keeps fp32's exponent range, so it needs no loss scaling, but only cards of compute capability
8.0 and up (Ampere on) compute it fast; older CUDA cards get fp16, whose narrow range lets small
gradients underflow to zero unless the loss is scaled up first (torch.amp.GradScaler). On a CPU,
bf16 autocast measured 0.9x of fp32 on the project's machine, so the CPU stays in fp32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BF16_MIN_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class Precision:
    dtype: torch.dtype | None  # autocast's dtype; None: plain fp32
    scaled: bool  # the loss goes through a GradScaler

    @property
    def name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")  # type: ignore[arg-type]


FP32 = Precision(None, False)
BF16 = Precision(torch.bfloat16, False)
FP16_SCALED = Precision(torch.float16, True)


def policy(device: torch.device) -> Precision:
    """bf16 on CUDA cards of capability 8.0 and up, scaled fp16 on older ones, fp32 elsewhere."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return FP32
    if tuple(torch.cuda.get_device_capability(device)) >= BF16_MIN_CAPABILITY:
        return BF16
    return FP16_SCALED


def autocast(device: torch.device):
    """The autocast context for `device`'s policy (disabled for fp32)."""
    chosen = policy(device)
    if chosen.dtype is None:
        return torch.autocast(device.type if device.type in ("cpu", "cuda") else "cpu", enabled=False)
    return torch.autocast(device.type, dtype=chosen.dtype)


def grad_scaler(device: torch.device, chosen: Precision | None = None) -> torch.amp.GradScaler:
    """A GradScaler that is enabled only when the policy scales the loss; disabled, its scale, step
    and update are plain backward and optimizer.step, so fp32 and bf16 runs are unchanged."""
    chosen = chosen or policy(device)
    return torch.amp.GradScaler(device.type if device.type in ("cpu", "cuda") else "cpu", enabled=chosen.scaled)
