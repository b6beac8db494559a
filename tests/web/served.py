"""The platform as it runs in production: `fleet serve` in a process of its own (its logging
configured by the CLI, uvicorn on a free port), plus a probe that times ``/livez`` from
another process while a test fires requests at the server."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx

from tests.builders import free_port

#: How long the server may take to answer its first ``/livez``, seconds.
START_TIMEOUT_S = 60.0
LIVEZ_INTERVAL_S = 0.05
#: Scheduling priority of the server and of the probe (where allowed, as root): timings then
#: show the server's own pauses, not those of other busy processes on a shared machine.
TIMED_NICE = -10


def _raise_priority(native_id: int) -> None:
    """Give a process or thread ``TIMED_NICE``; left as it is where that is not permitted."""
    try:
        os.setpriority(os.PRIO_PROCESS, native_id, TIMED_NICE)
    except PermissionError:
        pass


@dataclass
class ServedFleet:
    """A running `fleet serve`: its base URL and the file its log goes to."""

    url: str
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def fleet_server(log_path: Path, **env: str) -> Iterator[ServedFleet]:
    """Run `fleet serve` with this process's environment (the test's FLEET_* settings) and
    ``env`` on top; its stdout and stderr go to ``log_path``. Stopped on exit."""
    port = free_port()
    command = [sys.executable, "-c", "from fleet.cli import main; main()", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        _raise_priority(process.pid)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"fleet serve exited with {process.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(f"{url}/livez", timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("fleet serve did not answer /livez in time")
                time.sleep(0.1)
            yield ServedFleet(url=url, log_path=log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class LivezProbe:
    """What the probe saw: the ``time.monotonic()`` start and the duration of each ``GET
    /livez``, seconds (a failed probe counts as infinitely slow)."""

    url: str
    samples: list[tuple[float, float]] = field(default_factory=list)

    @property
    def slowest(self) -> tuple[float, float]:
        """The start and duration of the slowest probe, seconds ((0, 0) before any)."""
        return max(self.samples, key=lambda sample: sample[1], default=(0.0, 0.0))

    @property
    def slowest_s(self) -> float:
        return self.slowest[1]


def _probe_livez(url: str, started: EventType, stop: EventType, results: Connection) -> None:
    """Time ``GET /livez`` every ``LIVEZ_INTERVAL_S`` until ``stop``; send the samples back."""
    _raise_priority(os.getpid())
    samples: list[tuple[float, float]] = []
    with httpx.Client(base_url=url, timeout=30.0) as client:
        while not stop.is_set():
            begun = time.monotonic()
            try:
                ok = client.get("/livez").status_code == 200
            except httpx.TransportError:
                ok = False
            samples.append((begun, time.monotonic() - begun if ok else float("inf")))
            started.set()
            stop.wait(LIVEZ_INTERVAL_S)
    results.send(samples)


@contextmanager
def timing_livez(url: str) -> Iterator[LivezProbe]:
    """Probe ``/livez`` of ``url`` for as long as the block runs, from a process of its own
    (so that the test's own work never delays a probe)."""
    context = multiprocessing.get_context("spawn")
    started, stop = context.Event(), context.Event()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_probe_livez, args=(url, started, stop, sender), daemon=True)
    process.start()
    probe = LivezProbe(url)
    try:
        if not started.wait(START_TIMEOUT_S):
            raise RuntimeError("the /livez probe did not start")
        yield probe
    finally:
        stop.set()
        if receiver.poll(35):
            probe.samples.extend(receiver.recv())
        process.join(timeout=10)
