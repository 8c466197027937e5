"""The `ftlab` console command of an installed checkout: `ftlab app|train|prepare-demos|weights [args]`.

The same subcommands as ./ftlab, without its set-up steps (the virtual environment, requirements,
Chromium): pip has done those when this command exists.
"""

from __future__ import annotations

import runpy
import sys

from core.settings import REPO_DIR

__all__ = ["main"]

USAGE = "usage: ftlab [app|train|prepare-demos|weights] [args...]   (default: app)"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    cmd = args.pop(0) if args else "app"
    if cmd in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if cmd == "app" and not (REPO_DIR / "serve.py").exists():
        # pages/, lessons/ and serve.py are the checkout's, not the packages': the app runs from a checkout.
        print(
            f"ftlab app runs from a checkout of Fine-Tuning Lab: install it with `pip install -e .` there "
            f"(this install has no serve.py beside {REPO_DIR / 'core'}).",
            file=sys.stderr,
        )
        return 2
    if cmd == "app":
        sys.argv = [str(REPO_DIR / "serve.py"), "--browser.gatherUsageStats", "false", *args]
        runpy.run_path(str(REPO_DIR / "serve.py"), run_name="__main__")
        return 0
    if cmd == "train":
        from core.cli import main as train

        return train(args)
    if cmd == "prepare-demos":
        from core.lab.demo_store import main as prepare

        return prepare(args)
    if cmd == "weights":
        from core.models.weights import main as weights

        return weights(args)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
