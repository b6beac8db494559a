"""Loaded (as Python's ``sitecustomize``) into the processes of a demo run under libfaketime
(tests/simulations/demo_process.py): libfaketime 0.9.10 answers Python's ``time.sleep`` (an
absolute ``clock_nanosleep`` on the monotonic clock) with EINVAL, while waits on a condition
work, so ``time.sleep`` waits on an event that is never set."""

import threading
import time

_never = threading.Event()


def _sleep(seconds: float) -> None:
    _never.wait(max(0.0, seconds))


time.sleep = _sleep
