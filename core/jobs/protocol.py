"""What every job backend shares: the ``Backend`` call, Stop, the messages a task sends back and how
they are pickled, so the process pool and the Ray pool speak the same protocol without importing each other."""

from __future__ import annotations

import io
import logging
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from core import settings

log = logging.getLogger(__name__)

__all__ = [
    "Backend",
    "EventSink",
    "POLL_S",
    "RemoteTraceback",
    "StopFlag",
    "TASKS",
    "WORKER_NICE",
    "WorkerError",
    "dumps",
    "lost_message",
    "lower_priority",
    "portable",
    "receive",
    "relay_stop",
    "reraise",
    "run_task",
]

EventSink = Callable[[Any], None]


class Backend(Protocol):
    """Where a job runs (ProcessPool, InProcess, RayPool). ``run`` blocks until the task ends, sends each
    event to `on_event`, stops between batches once `stop` is set, and returns the task's result
    (a RunResult for "train", the lr_range_test's dict for "lr_range"); it raises WorkerError when the
    place it runs is lost, and the engine's own errors as they were raised."""

    def run(
        self,
        kind: str,
        cfg: Any,
        on_event: EventSink,
        stop: threading.Event,
        data: Any = None,
        options: dict | None = None,
    ) -> Any: ...

    def close(self, timeout: float = 5.0) -> None: ...


# The server stays at 0: with both busy, Linux gives it ~9x the CPU share of a worker at 10 (CFS
# weights 1024 vs 110). On a machine shared with other busy programs that starves training (a worker
# got 0.7 CPU s in 5 s beside the server's 2.0, on this 2-core box at load 10): FTLAB_WORKER_NICE sets it.
WORKER_NICE = settings.current().worker_nice
POLL_S = 0.2  # how often a waiting pump looks at the job's Stop flag (events wake it at once)
TASKS = ("train", "lr_range")


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
    from core.train import engine, lr_finder

    if kind == "train":
        return engine.run_training(cfg, on_event, stop, data)
    if kind == "lr_range":
        return lr_finder.lr_range_test(cfg, data=data, stop=stop, **(options or {}))
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


def reraise(exc: BaseException) -> NoReturn:
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

        if (
            type(obj) in (torch.Tensor, torch.nn.Parameter)
            and obj.device.type == "cpu"
            and obj.dtype not in (torch.bfloat16, torch.complex32)
            and obj.layout == torch.strided
        ):
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
        name = (
            signal.Signals(-exitcode).name if -exitcode in signal.Signals._value2member_map_ else f"signal {-exitcode}"
        )
        how = f"it was killed by {name}"
        if exitcode == -signal.SIGKILL:
            how += " (the machine may have run out of memory, or someone ended the process)"
    elif exitcode is None:
        how = "the connection to it was lost"
    else:
        how = f"it exited with code {exitcode}"
    return (
        f"The training process stopped unexpectedly: {how}. This run is lost, but the lab has started a "
        f"fresh worker: press Start to run it again. If it happens again, make the run smaller (a "
        f"smaller image size or batch size, fewer images per class)."
    )
