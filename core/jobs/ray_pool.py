"""Jobs on a Ray cluster: how a class outgrows one machine without a scheduler of our own.

With FTLAB_RAY_ADDRESS set (``auto``, ``host:port`` of a head, or ``ray://host:10001``), each job
runs in a Ray actor: a persistent worker (torch imported and weights loaded once) that Ray places on
any machine of the cluster with a free CPU, or a free GPU when the run's config asks for CUDA. The
actor's ``run`` is a generator, so events stream back as Ray objects while it trains; Stop calls the
actor's ``stop``, which sets the Event the engine polls between batches. A dead actor (its machine
gone, its process killed) ends the job as failed, and the pool makes a new actor for the next job.

Ray is optional (requirements-cluster.txt): without FTLAB_RAY_ADDRESS nothing here imports it. When
the variable is set but Ray is missing or the head does not answer, every job fails with a message
that says so and how to fix it, and the server keeps serving pages. The code travels to the cluster
as a ``py_modules`` runtime environment (the ``core`` package, ~0.3 MB); the nodes need the packages
of requirements.txt and the offline weights (``python -m core.models.weights --install``).
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import socket
import threading
from pathlib import Path

from core import settings
from core.jobs.protocol import WORKER_NICE, WorkerError, dumps, lower_priority, portable, receive, relay_stop, run_task

log = logging.getLogger(__name__)

ADDRESS_ENV = "FTLAB_RAY_ADDRESS"
CONNECT_TIMEOUT_S = 5.0
CORE_DIR = Path(__file__).resolve().parents[1]


def address_from_env() -> str:
    return settings.current().ray_address


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) to probe before ray.init, which can hang for a minute on an address nobody answers."""
    rest = address.split("://", 1)[-1]
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def check_reachable(address: str) -> None:
    target = _host_port(address)
    if target is None:
        return  # "auto": Ray itself finds the local head, or says none is running
    try:
        socket.create_connection(target, timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise WorkerError(
            f"{ADDRESS_ENV} is set to {address!r}, but nothing answers there ({exc.strerror or exc}). Start "
            f"the Ray head (`ray start --head`), correct the address, or unset {ADDRESS_ENV} to train on "
            f"this machine."
        ) from None


def import_ray():
    try:
        import ray
    except ImportError:
        raise WorkerError(
            f"{ADDRESS_ENV} is set, but Ray is not installed in this environment: install it with "
            f"`pip install -r requirements-cluster.txt`, or unset {ADDRESS_ENV} to train on this machine."
        ) from None
    return ray


def wants_gpu(device: str, cluster_gpus: float) -> bool:
    """Whether a run's actor asks Ray for a GPU: always for 'cuda' (refused if the cluster has none),
    and for 'auto' when the cluster has any, so a school that adds GPU machines changes nothing else."""
    if device == "cuda" and not cluster_gpus:
        raise WorkerError(
            "This run asks for a CUDA GPU, but the Ray cluster has none: choose the "
            "device 'auto' or 'cpu', or add a machine with a GPU to the cluster."
        )
    return device == "cuda" or (device == "auto" and cluster_gpus > 0)


class Trainer:
    """The actor: runs one task at a time in a thread and yields its events, then its outcome."""

    def __init__(self):
        lower_priority(WORKER_NICE)  # on a node that also serves pages; harmless elsewhere
        import core.train.engine  # noqa: F401  (torch's import, paid once per actor)

        self._stop = threading.Event()

    def pid(self) -> int:
        return os.getpid()

    def stop(self) -> None:
        self._stop.set()

    def run(self, task: bytes):
        """Yields pickled (tag, payload) items, pickled with core.jobs.protocol.dumps as the local pipe does:
        with Ray's own serialisation of the RunResult and its model, a job spent 1.5 s outside the
        engine; this way 0.4 s (`python -m bench.job_boundary --ray ADDRESS`, 2-core machine under load)."""
        kind, cfg, data, options = pickle.loads(task)
        self._stop.clear()
        out: queue.Queue = queue.Queue()

        def target():
            try:
                out.put(("result", run_task(kind, cfg, lambda e: out.put(("event", e)), self._stop, data, options)))
            except Exception as exc:  # noqa: BLE001 - the job fails, the actor lives on
                out.put(("error", portable(exc)))

        threading.Thread(target=target, name="ftlab-ray-task", daemon=True).start()
        while True:
            tag, payload = out.get()
            yield dumps((tag, payload))
            if tag != "event":
                return


class RayPool:
    """Runs jobs on Ray actors, `size` at a time (the job manager's limit). Connects on first use."""

    def __init__(self, address: str, size: int):
        self.address = address
        self.size = size
        self._lock = threading.Lock()
        self._ray = None
        self._actor_class = None
        self._idle: dict[bool, list] = {False: [], True: []}  # needs a GPU -> idle actors
        self._all: list = []  # every live actor, idle or busy

    def _connect(self):
        with self._lock:
            if self._ray is not None:
                return self._ray
            ray = import_ray()
            check_reachable(self.address)
            try:
                ray.init(
                    address=self.address,
                    runtime_env={"py_modules": [str(CORE_DIR)]},
                    log_to_driver=False,
                    ignore_reinit_error=True,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise WorkerError(
                    f"Could not join the Ray cluster at {self.address!r}: {exc}. Check that the head is "
                    f"running and that this machine has the same Ray and Python versions, or unset "
                    f"{ADDRESS_ENV} to train on this machine."
                ) from None
            # max_concurrency: `run` holds one thread for the whole job, `stop` and `pid` need another.
            self._actor_class = ray.remote(max_concurrency=4)(Trainer)
            self._ray = ray
            return ray

    def _borrow(self, gpu: bool):
        ray = self._ray
        with self._lock:
            if self._idle[gpu]:
                return self._idle[gpu].pop()
            # Idle actors of the other kind hold a CPU (or a GPU) each: free them for this one.
            spare, self._idle[not gpu] = self._idle[not gpu], []
            for actor in spare:
                self._all.remove(actor)
        for actor in spare:
            ray.kill(actor, no_restart=True)
        resources = {"num_gpus": 1, "num_cpus": 1} if gpu else {"num_cpus": 1}
        actor = self._actor_class.options(**resources).remote()
        with self._lock:
            self._all.append(actor)
        return actor

    def _give_back(self, actor, gpu: bool) -> None:
        with self._lock:
            self._idle[gpu].append(actor)

    def run(self, kind: str, cfg, on_event, stop, data=None, options: dict | None = None):
        ray = self._connect()
        gpu = wants_gpu(getattr(cfg, "device", "auto"), ray.cluster_resources().get("GPU", 0))
        actor = self._borrow(gpu)
        try:
            outcome = self._pump(actor, kind, cfg, on_event, stop, data, options or {})
        except WorkerError:
            with self._lock:
                self._all.remove(actor)
            self._ray.kill(actor, no_restart=True)  # a half-dead actor is not reused
            raise
        self._give_back(actor, gpu)
        return outcome

    def _pump(self, actor, kind, cfg, on_event, stop, data, options):
        ray = self._ray
        relay_stop(stop, actor.stop.remote)  # the engine polls the actor's own Event between batches
        try:
            for ref in actor.run.remote(dumps((kind, cfg, data, options))):
                tag, payload = pickle.loads(ray.get(ref))
                if receive(tag, payload, on_event):
                    return payload
            raise WorkerError("The Ray worker ended the run without a result. Press Start to try again.")
        except ray.exceptions.RayError as exc:
            log.error("Ray job lost: %s", exc)
            raise WorkerError(
                f"The Ray worker running this job stopped unexpectedly ({type(exc).__name__}: the process or "
                f"its machine went away). This run is lost, but the lab will use a fresh worker: press "
                f"Start to run it again."
            ) from None
        finally:
            relay_stop(stop, None)

    def pids(self) -> list[int]:
        """Process ids of the live actors (for tests that kill one mid-run)."""
        ray = self._connect()
        with self._lock:
            actors = list(self._all)
        return ray.get([a.pid.remote() for a in actors], timeout=60)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            actors, self._all = self._all, []
            self._idle = {False: [], True: []}
            ray = self._ray
        for actor in actors:
            ray.kill(actor, no_restart=True)
