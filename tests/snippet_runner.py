"""Run lesson snippets in a fresh process and report what each one did (used by test_snippets.py).

Why a separate process: Keras reads KERAS_BACKEND once, at import time, so Keras snippets need a
process that sets it before anything imports keras; and a snippet must not leak state (seeds, threads,
monkeypatches) into pytest. Each snippet runs in its own namespace, in a scratch working directory,
with the network blocked, so "offline" is checked rather than assumed.

Usage: snippet_runner.py IN.json OUT.json [keras]. Input: [{"key", "code", "check"}]; output, one
result per snippet: {"key", "error": null | {"type", "message"}, "check": null | bool | "error: ...", "seconds"}.
`check` is a Python expression evaluated in the snippet's namespace after it ran.
"""
import contextlib
import io
import json
import os
import socket
import sys
import tempfile
import time


def _block_network() -> None:
    def refuse(*_a, **_k):
        raise OSError("network access is blocked while lesson snippets run (they must work offline)")
    socket.socket.connect = refuse  # type: ignore[assignment]
    socket.create_connection = refuse  # type: ignore[assignment]


def run_one(code: str, check: str | None) -> dict:
    ns: dict = {"__name__": "__snippet__"}
    started = time.perf_counter()
    error = None
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            exec(compile(code, "<snippet>", "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - the snippet's failure is the result
            error = {"type": type(exc).__name__, "message": str(exc)[:500]}
    outcome = None
    if check and error is None:
        try:
            outcome = bool(eval(check, ns))
        except Exception as exc:  # noqa: BLE001
            outcome = f"error: {type(exc).__name__}: {exc}"
    return {"error": error, "check": outcome, "seconds": round(time.perf_counter() - started, 2)}


def _preimport(keras: bool) -> None:
    """Import the heavy libraries once, so a snippet's time is its own work (importing keras took
    25 s and torch 15 s on the shared 2-core machine). A snippet still needs its own import lines:
    each one runs in a fresh namespace, so a missing import is still a NameError."""
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import torchvision  # noqa: F401
    if keras:
        import keras as _keras  # noqa: F401


def main(src: str, dst: str, keras: bool = False) -> None:
    _block_network()
    _preimport(keras)
    snippets = json.loads(open(src).read())
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # snippets may save checkpoints ("best.pt") or build image folders
        for s in snippets:
            results.append({"key": s["key"], **run_one(s["code"], s.get("check"))})
            with open(dst, "w") as f:  # written after each snippet, so a hang still reports the rest
                json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], keras=sys.argv[3:] == ["keras"])
