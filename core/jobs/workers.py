"""Where a job's training runs: a pool of persistent worker processes at a lower CPU priority, never the
web server's process, so the operating system serves pages first and the server only relays events.

Workers are spawned once and kept (torch's import, the weights and the feature cache are paid once per
worker) and warm up on the Lab's opening config as they start. A job's events come back over a pipe
that the manager's thread for that worker reads (the "pump"); a worker that dies ends its job with
``WorkerError`` and is replaced. ``InProcess`` runs tasks in the calling thread, for tests.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import pickle
import queue
import sys
import threading
import types
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

from core.jobs.protocol import (
    POLL_S,
    WORKER_NICE,
    WorkerError,
    dumps,
    lost_message,
    lower_priority,
    portable,
    receive,
    relay_stop,
    run_task,
)

log = logging.getLogger(__name__)

__all__ = ["InProcess", "ProcessPool", "log_warm_up"]

_MAIN_LOCK = threading.Lock()

# ---- the worker process ------------------------------------------------------------------------------


def _serve(tasks: Connection, events: Connection, stop, nice: int, warm_up=None) -> None:
    """A worker's whole life: lower its priority, import the engine once, warm up on the `warm_up` config
    (core.train.engine.warm_up), then run tasks until told to end."""
    lower_priority(nice)
    import core.train.engine  # torch's import, ~2 s, paid here and not by the first run

    def send(tag: str, payload) -> None:
        events.send_bytes(dumps((tag, payload)))

    if warm_up is not None:
        report: dict[str, float] | str
        try:
            report = core.train.engine.warm_up(warm_up)
        except Exception as exc:  # noqa: BLE001 - a run of that config meets the same problem and reports it
            report = f"{type(exc).__name__}: {exc}"
        send("warmed", report)  # read, and logged by the server, with the first task's events

    while True:
        try:
            task = pickle.loads(tasks.recv_bytes())
        except EOFError:  # the server went away
            return
        if task is None:
            return
        kind, cfg, data, options = task
        try:
            result = run_task(kind, cfg, lambda e: send("event", e), stop, data, options)
        except Exception as exc:  # noqa: BLE001 - the job fails, the worker lives on
            send("error", portable(exc))
        else:
            send("result", result)


def log_warm_up(pid: int | None, report: dict | str) -> None:
    """The server's record of a worker's warm-up: its timings, or why it failed (the worker lives on)."""
    if isinstance(report, str):
        log.warning("Training worker %s could not warm up (%s); its first run starts cold", pid, report)
    else:
        log.info("Training worker %s warmed up: %s", pid, ", ".join(f"{k} {v:.2f}" for k, v in report.items()))


def _start_without_main(process) -> None:
    """Start a spawned process without running the parent's ``__main__`` in it. Spawn re-runs the
    parent's main module in the child, and Streamlit installs each page script as ``__main__``: the
    Lab page would run inside the worker (and try to start a pool of its own, which spawn refuses)."""
    with _MAIN_LOCK:
        main, stand_in = sys.modules.get("__main__"), types.ModuleType("__main__")
        sys.modules["__main__"] = stand_in
        try:
            process.start()  # the child's preparation data is taken here, synchronously
        finally:
            if sys.modules.get("__main__") is stand_in and main is not None:
                sys.modules["__main__"] = main  # unless a page script installed its own meanwhile


class _Worker:
    """The server's handle on one worker process: its pipes and its Stop flag."""

    def __init__(self, ctx, nice: int, warm_up=None):
        self.stop = ctx.Event()
        task_reader, self._tasks = ctx.Pipe(duplex=False)
        self._events, event_writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_serve,
            args=(task_reader, event_writer, self.stop, nice, warm_up),
            name="ftlab-train-worker",
            daemon=True,
        )
        _start_without_main(self.process)
        task_reader.close()  # the child holds its own ends; closing ours lets EOF tell each side of a death
        event_writer.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def ended(self) -> bool:
        """Whether the process has ended. Its sentinel is readable once it exits, whoever reaps it;
        is_alive() alone answered "alive" for a worker killed while idle (tests/test_workers.py)."""
        return bool(wait([self.process.sentinel], timeout=0)) or not self.process.is_alive()

    def run(self, kind, cfg, on_event, stop, data, options):
        """Send one task and pump its events into `on_event` until its result; runs in the manager's thread."""
        self.stop.clear()
        try:
            self._tasks.send_bytes(dumps((kind, cfg, data, options)))
        except OSError:
            raise self._lost() from None
        relay_stop(stop, self.stop.set)
        try:
            return self._pump(on_event, stop)
        finally:
            relay_stop(stop, None)

    def _pump(self, on_event, stop):
        while True:
            if stop.is_set():
                self.stop.set()
            ready = wait([self._events, self.process.sentinel], timeout=POLL_S)
            if self._events in ready:
                try:
                    tag, payload = pickle.loads(self._events.recv_bytes())
                except (EOFError, OSError):
                    raise self._lost() from None
                if tag == "warmed":
                    log_warm_up(self.pid, payload)
                elif receive(tag, payload, on_event):
                    return payload
            elif ready:  # only the sentinel: the process ended with nothing left to read
                raise self._lost()

    def _lost(self) -> WorkerError:
        self.process.join(1.0)
        return WorkerError(lost_message(self.process.exitcode))

    def close(self, timeout: float = 5.0) -> None:
        try:
            self._tasks.send_bytes(pickle.dumps(None))
        except OSError:
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self._tasks.close()
        self._events.close()


class ProcessPool:
    """`size` persistent worker processes; `run` borrows an idle one for the duration of a task.

    The job manager runs at most `size` tasks at once, so a caller never waits for a worker here.
    With `warm_up` (a TrainConfig), each worker runs one throwaway epoch of it as it starts: the
    server passes the Lab's opening config, the run a learner is most likely to start first. A task
    sent meanwhile waits in the worker's pipe until the warm-up ends."""

    def __init__(self, size: int, nice: int = WORKER_NICE, start_method: str = "spawn", warm_up=None):
        # spawn, not fork: the server has threads (Streamlit's, the pumps), and forking a threaded
        # process can copy a held lock into the child.
        self._ctx = mp.get_context(start_method)
        self._nice = nice
        self._warm_up = warm_up
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        for _ in range(size):  # started now, so they are warm by the first Start
            self._idle.put(self._new())

    def _new(self) -> _Worker:
        worker = _Worker(self._ctx, self._nice, self._warm_up)
        with self._lock:
            self._all.append(worker)
        return worker

    def _replace(self, worker: _Worker) -> _Worker:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        worker.close(timeout=1.0)
        return self._new()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._all if w.pid is not None]

    def run(self, kind: str, cfg, on_event, stop, data=None, options: dict | None = None):
        worker = self._idle.get()
        if worker.ended():  # died while idle: no job was on it, so nobody is told
            log.warning(
                "Training worker %s had ended (exit code %s); starting a new one", worker.pid, worker.process.exitcode
            )
            worker = self._replace(worker)
        heard = []  # whether the task got as far as its first event

        def relay(event) -> None:
            heard.append(True)
            on_event(event)

        try:
            for attempt in (1, 2):
                try:
                    return worker.run(kind, cfg, relay, stop, data, options or {})
                except WorkerError:
                    log.error("Training worker %s was lost; starting a new one", worker.pid)
                    worker = self._replace(worker)
                    # Lost before its first event: most likely a worker that had already died while
                    # idle unseen (a replacement killed right after it started passed the check
                    # above in tests/test_workers.py). One more try on the fresh worker; a task that
                    # kills its worker again, or one that had started, fails with the message.
                    if heard or attempt == 2 or stop.is_set():
                        raise
        finally:
            self._idle.put(worker)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            workers, self._all = list(self._all), []
        for w in workers:
            w.close(timeout)


class InProcess:
    """Runs tasks in the calling thread: for tests that inject a runner (run_training's signature)."""

    def __init__(self, runner: Callable | None = None):
        self.runner = runner

    def run(self, kind: str, cfg, on_event, stop, data=None, options: dict | None = None):
        if kind == "train" and self.runner is not None:
            return self.runner(cfg, on_event, stop, data)
        return run_task(kind, cfg, on_event, stop, data, options)

    def close(self, timeout: float = 5.0) -> None:
        pass
