"""The app's web server, as `./ftlab app` starts it: Streamlit running app.py (through asgi.py, which
adds the server-set browser cookie), with the imports and the training workers' start done once
before the port opens (core.jobs.warmup says why).

Arguments are Streamlit's own and are passed on: `python serve.py --server.port 8502` is
`streamlit run asgi.py --server.port 8502` with a warm start.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().with_name("asgi.py")


def main(argv: list[str]) -> None:
    from core.jobs.warmup import warm_server

    t0 = time.perf_counter()
    steps = warm_server()
    print(
        f"Warm start in {time.perf_counter() - t0:.1f} s ({', '.join(f'{k} {v} s' for k, v in steps.items())})",
        flush=True,
    )
    from streamlit.web import cli

    cli.main(args=["run", str(APP), *argv], prog_name="streamlit")  # exits with Streamlit's status


if __name__ == "__main__":
    main(sys.argv[1:])
