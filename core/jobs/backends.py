"""The job backend a server uses: Ray when FTLAB_RAY_ADDRESS names a cluster, else local worker processes.

Its own module so that neither pool imports the other (both speak core.jobs.protocol).
"""

from __future__ import annotations

from typing import Any

from core import settings
from core.jobs.protocol import Backend

__all__ = ["default_backend"]


def default_backend(size: int, warm_up: Any = None) -> Backend:
    """Ray when FTLAB_RAY_ADDRESS is set (core.jobs.ray_pool), else local worker processes that warm up on
    `warm_up` (ProcessPool). Ray's actors start cold: they may sit on machines far from this server."""
    address = settings.current().ray_address
    if address:
        from core.jobs.ray_pool import RayPool  # imports Ray only when a cluster is named

        return RayPool(address, size)
    from core.jobs.workers import ProcessPool

    return ProcessPool(size, warm_up=warm_up)
