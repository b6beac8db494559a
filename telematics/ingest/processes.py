"""Child processes of ``fleet ingest`` (the alert evaluator, extra ingest workers), started
with ``spawn`` so that each gets its own interpreter (and CPU core) and its own database and
MQTT connections. A child stops on its flag, on SIGTERM (a service manager signals the whole
process group) or when the worker dies; the worker kills one that outlives its shutdown time."""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from fleet.settings import Settings

log = structlog.get_logger(__name__)

class StopFlag(Protocol):
    """A ``threading.Event`` or a ``multiprocessing`` event."""

    def is_set(self) -> bool: ...
    def set(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


#: ``target(stop, settings, *args)`` runs in the child until ``stop`` is set.
ChildTarget = Callable[..., None]


def _child_main(target: ChildTarget, stop: StopFlag, settings: Settings, *args: Any) -> None:
    """Runs in the child: logging as the worker's, Ctrl-C left to the worker (which stops its
    children), SIGTERM or the worker's death set ``stop``."""
    from fleet.logs import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: set_from_a_thread(stop))
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=lambda: (parent.join(), stop.set()), daemon=True).start()
    target(stop, settings, *args)


def set_from_a_thread(flag: StopFlag) -> None:
    """Set ``flag`` from a new daemon thread. A ``multiprocessing`` event's ``set`` takes the
    lock its ``wait`` holds while waking, so calling it from a signal handler that interrupted
    that ``wait`` (or from a process whose partner died holding the lock) would block forever."""
    threading.Thread(target=flag.set, name="stop-flag", daemon=True).start()


class Child:
    """One child process running ``target(stop, settings, *args)``."""

    def __init__(self, name: str, target: ChildTarget, settings: Settings, *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.name = name
        self._stop = context.Event()
        self.process = context.Process(
            target=_child_main, args=(target, self._stop, settings, *args), name=name, daemon=True
        )

    @staticmethod
    def shared_counter() -> Any:
        """A 64-bit integer the child may add to and the worker read."""
        return multiprocessing.get_context("spawn").Value("q", 0)

    def start(self) -> None:
        self.process.start()
        log.info("child_started", name=self.name, pid=self.process.pid)

    def alive(self) -> bool:
        return self.process.is_alive()

    def request_stop(self) -> None:
        """Ask it to finish what it is doing and stop (without waiting, even for the flag's
        lock: see ``set_from_a_thread``)."""
        set_from_a_thread(self._stop)

    def join(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` seconds for it to end, then kill it."""
        self.process.join(timeout_s)
        if self.process.is_alive():
            log.warning("child_killed", name=self.name, pid=self.process.pid)
            self.process.kill()
            self.process.join(5)
