"""The command-line fine-tune ends with the held-out test accuracy, in the Lab's own words (issue 26)."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--dataset", "faces", "--size", "32", "--per-class", "8", "--val-per-class", "6", "--epochs", "1",
        "--trainable", "head"]


def test_the_cli_prints_test_accuracy_next_to_validation():
    out = subprocess.run([sys.executable, "-m", "core.cli", *TINY], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    line = next((x for x in out.stdout.splitlines() if x.startswith("Test accuracy")), "")
    assert re.match(r"Test accuracy \d+\.\d% \(\d+–\d+% likely, 12 held-out test images\); validation \d+\.\d%", line), \
        out.stdout
    assert "Report the test score." in line and "**" not in line  # plain text, no Markdown on a terminal
