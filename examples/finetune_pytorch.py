"""Fine-tune an ImageNet MobileNetV2 on a folder of your own images, in PyTorch, start to finish.

Why this file exists: the lessons show each step in a few lines; this is the whole recipe in one
place, the way you would run it on your own photos. Stage 1 trains a new head on a frozen backbone;
stage 2 unfreezes the last blocks with a 10x smaller learning rate. Frozen BatchNorm layers stay in
eval mode throughout (re-applied after every model.train()), the best epoch by validation accuracy
is kept, and the result is saved.

    python examples/finetune_pytorch.py --data path/to/folder --out model.pt

`path/to/folder` holds one sub-folder per class (flowers/daisy/*.jpg, flowers/tulip/*.jpg, ...).
Greyscale images are fine: the loader converts every image to RGB (three channels).
Runs on a CPU; the weights (IMAGENET1K_V1, pinned so results do not change with torchvision's
DEFAULT) come from torch's cache or are downloaded once.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets
from torchvision import transforms as T
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

WEIGHTS = MobileNet_V2_Weights.IMAGENET1K_V1
MEAN, STD = WEIGHTS.transforms().mean, WEIGHTS.transforms().std  # asked from the weights, not retyped


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder with one sub-folder of images per class")
    p.add_argument("--out", default="finetuned_mobilenet_v2.pt", help="where to save the weights")
    p.add_argument("--epochs-head", type=int, default=5, help="stage 1: new head, backbone frozen")
    p.add_argument("--epochs-finetune", type=int, default=5, help="stage 2: last blocks unfrozen")
    p.add_argument("--unfreeze-blocks", type=int, default=3, help="how many of the 19 feature blocks stage 2 trains")
    p.add_argument("--lr-head", type=float, default=1e-3, help="Adam learning rate for the new head")
    p.add_argument("--lr-finetune", type=float, default=1e-4, help="learning rate for unfrozen blocks (10x smaller)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--image-size", type=int, default=224, help="ImageNet models were trained at 224 px")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of images held out for validation")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def load_data(args) -> tuple[DataLoader, DataLoader, list[str]]:
    """Train/validation loaders over one image folder; augmentation on the training part only."""
    root = Path(args.data)
    if not root.is_dir():
        sys.exit(f"No folder at {root}. Pass --data with a folder that holds one sub-folder per class.")
    size = args.image_size
    train_tf = T.Compose([T.RandomResizedCrop(size, scale=(0.6, 1.0)), T.RandomHorizontalFlip(),
                          T.ToTensor(), T.Normalize(MEAN, STD)])
    eval_tf = T.Compose([T.Resize(int(size * 256 / 224)), T.CenterCrop(size),  # the weights' eval preset
                         T.ToTensor(), T.Normalize(MEAN, STD)])
    try:  # ImageFolder's loader converts every image to RGB, so greyscale files get three channels
        train_all, eval_all = datasets.ImageFolder(root, train_tf), datasets.ImageFolder(root, eval_tf)
    except (FileNotFoundError, RuntimeError) as exc:
        sys.exit(f"Could not read images in {root}: {exc}. Put each class's images in its own sub-folder.")
    if len(train_all.classes) < 2:
        sys.exit(f"{root} has {len(train_all.classes)} class folder(s); a classifier needs at least 2.")
    order = torch.randperm(len(train_all), generator=torch.Generator().manual_seed(args.seed)).tolist()
    n_val = max(1, int(len(order) * args.val_fraction))
    train_set, val_set = Subset(train_all, order[n_val:]), Subset(eval_all, order[:n_val])
    return (DataLoader(train_set, args.batch_size, shuffle=True),
            DataLoader(val_set, args.batch_size), train_all.classes)


def build_model(num_classes: int) -> nn.Module:
    """Pretrained backbone, frozen; a new head with one output per class (trainable by default)."""
    model = mobilenet_v2(weights=WEIGHTS)
    for p in model.parameters():
        p.requires_grad = False
    model.classifier[1] = nn.Linear(model.classifier[1].in_features, num_classes)
    return model


def frozen_bn_to_eval(model: nn.Module) -> None:
    """Frozen BatchNorm layers keep their ImageNet statistics: in training mode they would normalise
    with each small batch's own statistics and overwrite their running averages."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not m.weight.requires_grad:
            m.eval()


def run_epoch(model, loader, optimizer=None) -> tuple[float, float]:
    """One pass over `loader`; trains when an optimizer is given. Returns (mean loss, accuracy)."""
    training = optimizer is not None
    model.train(training)
    if training:
        frozen_bn_to_eval(model)  # after train(), which put every BatchNorm back in training mode
    total_loss, correct, seen = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total_loss += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    return total_loss / seen, correct / seen


def fit(model, optimizer, epochs, train_dl, val_dl, stage, best) -> dict:
    """Train for `epochs`, printing both scores; `best` holds the best validation state so far."""
    for epoch in range(1, epochs + 1):
        train_loss, train_acc = run_epoch(model, train_dl, optimizer)
        val_loss, val_acc = run_epoch(model, val_dl)
        print(f"{stage} epoch {epoch}: train loss {train_loss:.3f} acc {train_acc:.2f} | "
              f"val loss {val_loss:.3f} acc {val_acc:.2f}")
        if val_acc > best["acc"]:
            best = {"acc": val_acc, "state": copy.deepcopy(model.state_dict())}
    return best


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    train_dl, val_dl, classes = load_data(args)
    print(f"{len(classes)} classes, {len(train_dl.dataset)} training and {len(val_dl.dataset)} validation images")
    model = build_model(len(classes))
    best = {"acc": -1.0, "state": None}

    # Stage 1: only the new head trains, at a normal learning rate.
    optimizer = torch.optim.Adam(model.classifier.parameters(), lr=args.lr_head)
    best = fit(model, optimizer, args.epochs_head, train_dl, val_dl, "head", best)

    # Stage 2: unfreeze the last blocks and give them their own, smaller learning rate. The optimizer
    # must be told: it only updates the parameters it was handed.
    blocks = model.features[-args.unfreeze_blocks:] if args.unfreeze_blocks > 0 else []
    for block in blocks:
        for p in block.parameters():
            p.requires_grad = True
        optimizer.add_param_group({"params": block.parameters(), "lr": args.lr_finetune})
    best = fit(model, optimizer, args.epochs_finetune, train_dl, val_dl, "fine-tune", best)

    model.load_state_dict(best["state"])
    torch.save({"state_dict": model.state_dict(), "classes": classes, "weights": str(WEIGHTS)}, args.out)
    print(f"best validation accuracy {best['acc']:.2f}; saved to {args.out}")


if __name__ == "__main__":
    main()
