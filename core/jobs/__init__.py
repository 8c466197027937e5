"""Running fine-tunes for a class: the ``JobManager`` (queue, limits, cancel), the ``Backend`` protocol
every place a job can run answers (``protocol``), the local process pool, the Ray pool, which one a server
uses (``backends``), and the server's warm start.
"""

__all__ = ["backends", "job", "manager", "probe", "protocol", "replay", "ray_pool", "warmup", "workers"]
