"""Where a job's training runs: a pool of persistent worker processes, never the web server's process.

Why: issue 13 measured a 2-core server with 4 runs training in threads of the server itself: lesson
pages took 5.7 s (median) to run, because training shared the server's process and GIL with every
learner's page. Here each run goes to a worker process at a lower CPU priority (``os.nice``), so the
operating system serves pages first and the server's interpreter only relays events.

Workers are spawned once and kept: torch's import, the pretrained weights and the engine's feature
cache (core.cache) are paid once per worker, not once per run. The server's workers pay them before
its first learner does: each runs one throwaway epoch of the Lab's opening config as it starts.

A job's events come back over a pipe that the job manager's thread for that worker reads (the
"pump"); Stop is a multiprocessing Event the engine polls between batches (it only calls
``is_set()``). A worker that dies (a crash, the kernel's out-of-memory killer, ``kill -9``) ends its
job with ``WorkerError`` and is replaced by a fresh one.

Backends share one method, ``run(kind, cfg, on_event, stop, data, options)``: ``ProcessPool`` (the
default), ``InProcess`` (a runner injected by tests, in the manager's thread), and
core.jobs.ray_pool.RayPool when FTLAB_RAY_ADDRESS names a Ray cluster.
"""
from __future__ import annotations

import io
import logging
import multiprocessing as mp
import os
import pickle
import queue
import signal
import sys
import threading
import traceback
import types
from multiprocessing.connection import Connection, wait
from typing import Callable

from core import settings

log = logging.getLogger(__name__)

# The server stays at 0: with both busy, Linux gives it ~9x the CPU share of a worker at 10 (CFS
# weights 1024 vs 110). On a machine shared with other busy programs that starves training (a worker
# got 0.7 CPU s in 5 s beside the server's 2.0, on this 2-core box at load 10): FTLAB_WORKER_NICE sets it.
WORKER_NICE = settings.current().worker_nice
POLL_S = 0.2  # how often a waiting pump looks at the job's Stop flag (events wake it at once)
TASKS = ("train", "lr_range")
_MAIN_LOCK = threading.Lock()


class WorkerError(RuntimeError):
    """The place a job runs failed or cannot be reached; the message says what happened and what to do."""


class StopFlag(threading.Event):
    """A job's Stop: a threading.Event that also passes ``set()`` on, at once, to where the job runs
    (a worker's multiprocessing Event, a Ray actor's ``stop``). Polling for it instead cost up to a
    poll interval: with 0.2 s, a test whose batches take ~0.1 s saw two batches after Stop."""

    def __init__(self):
        super().__init__()
        self._relay_lock = threading.Lock()
        self._relay: Callable[[], object] | None = None

    def relay(self, action: Callable[[], object] | None) -> None:
        """Call `action` when Stop is set (now, if it already is); None forgets it."""
        with self._relay_lock:
            self._relay = action
        if action is not None and self.is_set():
            action()

    def set(self) -> None:
        super().set()
        with self._relay_lock:
            action = self._relay
        if action is not None:
            try:
                action()
            except Exception:  # noqa: BLE001 - a worker already gone is reported by its pump, not by Stop
                log.warning("Could not pass Stop on to the worker", exc_info=True)


def relay_stop(stop, action) -> None:
    """Relay `stop` if it can (a StopFlag); a plain Event is still honoured by the pump's polling."""
    if isinstance(stop, StopFlag):
        stop.relay(action)


class RemoteTraceback(Exception):
    """The worker's own traceback, chained to the exception it raised, so the server's log shows it."""

    def __str__(self) -> str:
        return self.args[0]


def run_task(kind: str, cfg, on_event, stop, data, options: dict | None = None):
    """Run one task of the engine where this is called (a worker process, a Ray actor, a test thread)."""
    from core.train import engine

    if kind == "train":
        return engine.run_training(cfg, on_event, stop, data)
    if kind == "lr_range":
        return engine.lr_range_test(cfg, data=data, stop=stop, **(options or {}))
    raise ValueError(f"Unknown task {kind!r}; known: {', '.join(TASKS)}.")


def portable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling (the engine's errors do), else a RuntimeError naming its type,
    with the worker's traceback text attached either way."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        out = pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - an exception class with an unusual __init__ cannot be rebuilt
        out = RuntimeError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    out.remote_traceback = text
    return out


def reraise(exc: BaseException):
    tb = getattr(exc, "remote_traceback", "")
    raise exc from (RemoteTraceback(tb) if tb else None)


def receive(tag: str, payload, on_event) -> bool:
    """One message from where a task runs (a worker's pipe, a Ray actor's stream): an event goes to
    `on_event`, an error is raised here; True when it is the task's result."""
    if tag == "event":
        on_event(payload)
        return False
    if tag == "result":
        return True
    reraise(payload)


# ---- what crosses the pipe --------------------------------------------------------------------------

def _tensor(array, parameter: bool, requires_grad: bool):
    import torch

    t = torch.from_numpy(array if array.flags.writeable else array.copy())
    return torch.nn.Parameter(t, requires_grad=requires_grad) if parameter else t.requires_grad_(requires_grad)


class _Pickler(pickle.Pickler):
    """Pickles CPU tensors as numpy arrays. torch's own tensor pickling runs torch.save per tensor:
    a RunResult with its MobileNetV2 (9.2 MB) took 490 ms to pickle and unpickle that way, 135 ms
    this way (measured on the 2-core machine under load; `python -m bench.job_boundary`)."""

    def reducer_override(self, obj):
        import torch

        if type(obj) in (torch.Tensor, torch.nn.Parameter) and obj.device.type == "cpu" \
                and obj.dtype not in (torch.bfloat16, torch.complex32) and obj.layout == torch.strided:
            return _tensor, (obj.detach().numpy(), isinstance(obj, torch.nn.Parameter), obj.requires_grad)
        return NotImplemented


def dumps(obj) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def lower_priority(nice: int) -> None:
    try:
        os.nice(nice)
    except (OSError, AttributeError):  # not permitted, or not a POSIX system: run at normal priority
        log.warning("Could not lower the training worker's CPU priority")


def lost_message(exitcode: int | None) -> str:
    """What a learner reads when the process running their job is gone."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.Signals._value2member_map_ else f"signal {-exitcode}"
        how = f"it was killed by {name}"
        if exitcode == -signal.SIGKILL:
            how += " (the machine may have run out of memory, or someone ended the process)"
    elif exitcode is None:
        how = "the connection to it was lost"
    else:
        how = f"it exited with code {exitcode}"
    return (f"The training process stopped unexpectedly: {how}. This run is lost, but the lab has started a "
            f"fresh worker: press Start to run it again. If it happens again, make the run smaller (a "
            f"smaller image size or batch size, fewer images per class).")


# ---- the worker process ------------------------------------------------------------------------------

def _serve(tasks: Connection, events: Connection, stop, nice: int, warm_up=None) -> None:
    """A worker's whole life: lower its priority, import the engine once, warm up on the `warm_up` config
    (core.train.engine.warm_up), then run tasks until told to end."""
    lower_priority(nice)
    import core.train.engine  # torch's import, ~2 s, paid here and not by the first run

    def send(tag: str, payload) -> None:
        events.send_bytes(dumps((tag, payload)))

    if warm_up is not None:
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
        self.process = ctx.Process(target=_serve, args=(task_reader, event_writer, self.stop, nice, warm_up),
                                   name="ftlab-train-worker", daemon=True)
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
            log.warning("Training worker %s had ended (exit code %s); starting a new one",
                        worker.pid, worker.process.exitcode)
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


def default_backend(size: int, warm_up=None):
    """Ray when FTLAB_RAY_ADDRESS is set (core.jobs.ray_pool), else local worker processes that warm up on
    `warm_up` (ProcessPool). Ray's actors start cold: they may sit on machines far from this server."""
    from core.jobs import ray_pool as ray_jobs

    address = ray_jobs.address_from_env()
    if address:
        return ray_jobs.RayPool(address, size)
    return ProcessPool(size, warm_up=warm_up)
