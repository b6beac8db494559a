"""Plans solved in the solver process: the same valid plans, while the caller's other threads
keep running (OR-Tools' routing search holds the GIL for its whole time limit)."""

from __future__ import annotations

import threading
import time

from dispatch_builders import assert_valid, build, car, day, trip

from dispatch.solver_pool import solve_apart


def _busy_day():  # type: ignore[no-untyped-def]
    """40 trips for 8 cars: the routing search uses most of its time limit."""
    trips = [trip(f"R{i}", (i * 7) % 40, (i * 13) % 45 + 1, f"{8 + i // 6:02d}:{(i * 10) % 60:02d}",
                  f"{9 + i // 6:02d}:{(i * 10) % 60:02d}") for i in range(40)]
    return build(day([car(f"P{i}") for i in range(8)], trips))


def test_a_plan_solved_apart_is_valid_and_the_caller_keeps_running():
    instance = _busy_day()
    solve_apart(instance, time_limit_s=0.2)  # starts the solver process
    result = {}
    solving = threading.Thread(target=lambda: result.setdefault("plan", solve_apart(instance, time_limit_s=2.0)))
    started = last = time.perf_counter()
    longest_gap_s = 0.0
    solving.start()
    while solving.is_alive():
        time.sleep(0.01)
        now = time.perf_counter()
        longest_gap_s, last = max(longest_gap_s, now - last), now
    assert time.perf_counter() - started > 1.0  # the search ran long enough to tell
    assert longest_gap_s < 0.5
    plan = result["plan"]
    assert_valid(instance, plan)
    assert not plan.unserved
