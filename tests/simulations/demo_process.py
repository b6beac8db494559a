"""`fleet demo` as a subprocess on embedded defaults (SQLite in a temporary folder, its own
broker), for the tests that watch it from outside over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.builders import free_port

#: libfaketime as Debian's `faketime` package installs it.
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
#: What the demo's processes load under libfaketime (see its module text).
FAKETIME_SITE = Path(__file__).parent / "faketime_site"

@dataclass
class Demo:
    """A running demo: its process, console URL and the moment it was started (monotonic s)."""

    process: subprocess.Popen[bytes]
    base: str
    started_s: float

    def output(self) -> str:
        return self.process.stdout.read1().decode(errors="replace") if self.process.stdout else ""

    def wait_ready(self, timeout_s: float = 90) -> httpx.Response:
        """Wait for ``/readyz`` to answer 200 (fails with the demo's output if it exits)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                ready = httpx.get(self.base + "/readyz", timeout=2)
                if ready.status_code == 200:
                    return ready
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"fleet demo was not ready within {timeout_s} s")

    def token(self, username: str) -> dict[str, str]:
        """Bearer headers of the demo login ``username`` (password ``<username>-demo-2021``)."""
        answer = httpx.post(self.base + "/api/v1/auth/token",
                            data={"username": username, "password": f"{username}-demo-2021"})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@contextmanager
def running_demo(tmp_path: Path, port: int | None = None, broker_port: int | None = None,
                 clock_offset_s: int | None = None) -> Iterator[Demo]:
    """Start ``fleet demo`` with its data in ``tmp_path / "data"`` (the same folder and ports
    again restart the same demo); ``clock_offset_s`` runs it, and every process it starts, on
    a wall clock shifted by that many seconds (libfaketime; the monotonic clock stays)."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    env |= {"FLEET_DATA_DIR": str(tmp_path / "data"), "FLEET_MQTT_EMBEDDED_PORT": str(broker_port or free_port()),
            "FLEET_LOG_LEVEL": "WARNING"}
    if clock_offset_s is not None:
        env |= {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"{clock_offset_s:+d}", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(FAKETIME_SITE), env.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", "from fleet.cli import main; main()", "demo", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield Demo(process, f"http://127.0.0.1:{port}", time.monotonic())
    finally:
        process.terminate()
        process.wait(timeout=60)
