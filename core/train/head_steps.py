"""Adam, AdamW and SGD for one weight matrix, in torch's own arithmetic, with the gradient of a linear
softmax classifier written out: the instant preview's inner loop (core.train.head_preview).

Why not torch.optim and autograd: the preview's tensors hold a few thousand numbers, so each step's
cost is the number of operations, not their size; autograd's graph and the optimizers' general code
take several times the arithmetic. The update rules below follow torch's `foreach` implementations
line by line (tests/test_head_preview.py checks them against torch.optim step by step), so a
preview trains what the engine's optimizer trains.
"""

from __future__ import annotations

import torch

from core.train.config import TrainConfig

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch's defaults, which core.train.optim keeps


class HeadStep:
    """One optimizer's state for the weight matrix `w` (bias as its last column)."""

    def __init__(self, cfg: TrainConfig, w: torch.Tensor):
        self.kind, self.wd, self.momentum = cfg.optimizer, float(cfg.weight_decay), float(cfg.momentum)
        self.w, self.t = w, 0
        self.m = torch.zeros_like(w)  # Adam's first moment, or SGD's momentum buffer
        self.v = torch.zeros_like(w)

    def __call__(self, grad: torch.Tensor, lr: float) -> None:
        self.t += 1
        if self.kind == "sgd":
            self._sgd(grad, lr)
        else:
            self._adam(grad, lr)

    def _sgd(self, grad: torch.Tensor, lr: float) -> None:
        if self.wd:
            grad = grad.add(self.w, alpha=self.wd)
        if self.momentum:
            if self.t == 1:
                self.m = grad.clone()
            else:
                self.m.mul_(self.momentum).add_(grad)
            grad = self.m
        self.w.add_(grad, alpha=-lr)

    def _adam(self, grad: torch.Tensor, lr: float) -> None:
        beta1, beta2 = ADAM_BETAS
        if self.kind == "adamw":
            self.w.mul_(1 - lr * self.wd)
        elif self.wd:
            grad = grad.add(self.w, alpha=self.wd)
        self.m.lerp_(grad, 1 - beta1)
        self.v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = (lr / (1 - beta1**self.t)) * -1
        denom = self.v.sqrt().div_((1 - beta2**self.t) ** 0.5).add_(ADAM_EPS)
        self.w.addcdiv_(self.m, denom, value=step_size)


def softmax_step(
    x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, rows: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits of `x` (a column of ones last) under `w`, the mean cross-entropy, and its gradient in `w`.
    `rows`: torch.arange(len(y)), passed in by a loop that calls this for every batch."""
    logits = x @ w.T
    logp = torch.log_softmax(logits, dim=1)
    rows = torch.arange(len(y)) if rows is None else rows
    loss = -logp[rows, y].mean()
    g = logp.exp_()
    g[rows, y] -= 1
    return logits, loss, (g.div_(len(y))).T @ x
