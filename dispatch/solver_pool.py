"""A dispatch day solved in a child process.

OR-Tools' routing search holds the GIL for its whole time limit: solved inside the API server,
a plan would stall every other request (the dispatcher console, the drivers' views, the
trip-request pages) for up to the time limit. The solver process is started on first use and
kept warm; a plan waits for a free one when ``SOLVER_PROCESSES`` plans are being solved.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from dispatch.instance import Instance
from dispatch.plan import Plan
from dispatch.solver import solve
from dispatch.travel import TravelMatrix

#: Plans solved at once (each search keeps one core busy for its time limit).
SOLVER_PROCESSES = 2

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(SOLVER_PROCESSES, mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _discard(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def solve_apart(
    instance: Instance,
    matrix: TravelMatrix | None = None,
    time_limit_s: float = 10.0,
    initial: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """``dispatch.solver.solve`` in a solver process; a solver process that died (killed, out
    of memory) is replaced and the plan solved once more."""
    executor = _executor()
    try:
        return executor.submit(solve, instance, matrix, time_limit_s, initial).result()
    except BrokenProcessPool:
        _discard(executor)
    return _executor().submit(solve, instance, matrix, time_limit_s, initial).result()
