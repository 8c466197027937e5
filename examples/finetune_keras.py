"""Fine-tune an ImageNet MobileNetV2 on a folder of your own images, in Keras 3, start to finish.

Why this file exists: the lessons show each step in a few lines; this is the whole recipe in one
place. Stage 1 trains a new head on a frozen base at a normal learning rate; stage 2 unfreezes the
top of the base in the order Keras needs (the base first, then re-freeze the bottom and every
BatchNormalization layer), recompiles with a low learning rate and stops early on validation loss.

    KERAS_BACKEND=torch python examples/finetune_keras.py --data path/to/folder --out model.keras

Keras 3 runs on TensorFlow, JAX or PyTorch; this script defaults to the torch backend (already
installed for this project) unless KERAS_BACKEND says otherwise. `path/to/folder` holds one
sub-folder per class; greyscale images are converted to three channels. Images are read with
Pillow into arrays, so no TensorFlow is needed. `--weights none` skips the ImageNet download (for
tests and offline machines; accuracy then comes from scratch training only).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")  # must be set before keras is imported

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder with one sub-folder of images per class")
    p.add_argument("--out", default="finetuned_mobilenet_v2.keras", help="where to save the model")
    p.add_argument("--weights", default="imagenet", choices=["imagenet", "none"],
                   help="'imagenet' downloads the pretrained weights once; 'none' starts from random ones")
    p.add_argument("--epochs-head", type=int, default=5, help="stage 1: new head, base frozen")
    p.add_argument("--epochs-finetune", type=int, default=5, help="stage 2: top of the base unfrozen")
    p.add_argument("--unfreeze-layers", type=int, default=30, help="how many of the base's 155 layers stage 2 trains")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--image-size", type=int, default=224, help="96, 128, 160, 192 or 224 for ImageNet weights")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of images held out for validation")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def load_images(root: Path, size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All images under root/<class>/ as a float array of 0..255 RGB pixels, plus integer labels."""
    if not root.is_dir():
        sys.exit(f"No folder at {root}. Pass --data with a folder that holds one sub-folder per class.")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    if len(classes) < 2:
        sys.exit(f"{root} has {len(classes)} class folder(s); a classifier needs at least 2.")
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:  # convert("RGB"): greyscale and palette images get the three channels the base expects
                img = Image.open(path).convert("RGB").resize((size, size))
            except (OSError, UnidentifiedImageError) as exc:
                sys.exit(f"Could not read {path}: {exc}. Remove or replace that file.")
            images.append(np.asarray(img, dtype="float32"))
            labels.append(label)
    if len(images) < 4:
        sys.exit(f"Found {len(images)} images under {root}; put a few per class in each sub-folder.")
    return np.stack(images), np.array(labels), classes


def build_model(args, num_classes: int) -> tuple[keras.Model, keras.Model]:
    """Frozen pretrained base with its own preprocessing inside the model, and a new head."""
    size = args.image_size
    base = keras.applications.MobileNetV2(
        weights=None if args.weights == "none" else "imagenet",
        include_top=False, pooling="avg", input_shape=(size, size, 3))
    base.trainable = False
    inputs = keras.Input((size, size, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)            # augmentation: training only
    x = keras.applications.mobilenet_v2.preprocess_input(x)      # 0..255 to -1..1, as in pretraining
    x = base(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs), base


def unfreeze_top(base: keras.Model, n_layers: int) -> None:
    """Keras order: base.trainable = True makes every inner layer trainable; then re-freeze the
    bottom and all BatchNormalization layers (trainable=False keeps them in inference mode; in
    Keras 3 a training=False in the model's call would be overridden by fit())."""
    base.trainable = True
    for layer in base.layers[:-n_layers] if n_layers > 0 else base.layers:
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def compile_and_fit(model, lr, epochs, data, args, stage) -> None:
    """Every stage compiles afresh: the optimizer built by stage 1's fit() knows only the head's
    weights (Keras 3 raises on the unfrozen ones; tf.keras 2 ignored them until a compile())."""
    x_train, y_train, x_val, y_val = data
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                        batch_size=args.batch_size, callbacks=[stop], verbose=0)
    for i, (acc, val_acc) in enumerate(zip(history.history["accuracy"], history.history["val_accuracy"]), 1):
        print(f"{stage} epoch {i}: train acc {acc:.2f} | val acc {val_acc:.2f}")


def main(argv=None) -> None:
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    images, labels, classes = load_images(Path(args.data), args.image_size)
    order = np.random.default_rng(args.seed).permutation(len(images))
    n_val = max(1, int(len(order) * args.val_fraction))
    val, train = order[:n_val], order[n_val:]
    data = (images[train], labels[train], images[val], labels[val])
    print(f"{len(classes)} classes, {len(train)} training and {len(val)} validation images")

    model, base = build_model(args, len(classes))
    compile_and_fit(model, 1e-3, args.epochs_head, data, args, "head")          # stage 1: normal rate
    unfreeze_top(base, args.unfreeze_layers)
    compile_and_fit(model, 1e-5, args.epochs_finetune, data, args, "fine-tune")  # stage 2: low rate

    _, val_acc = model.evaluate(data[2], data[3], verbose=0)
    model.save(args.out)
    print(f"validation accuracy {val_acc:.2f}; saved to {args.out}")


if __name__ == "__main__":
    main()
