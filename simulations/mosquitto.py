"""A private Mosquitto for the ingest benchmark and the city simulation, with queues sized
for bursts at QoS 1 (``ingest_mosquitto.conf``: Debian's defaults drop messages beyond 1,000
queued for a slow subscriber)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CONF = Path(__file__).with_name("ingest_mosquitto.conf")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def available() -> bool:
    """Whether the mosquitto binary is on PATH."""
    return shutil.which("mosquitto") is not None


@contextmanager
def private_mosquitto(folder: Path, start_timeout_s: float = 10.0) -> Iterator[str]:
    """Run Mosquitto on a free local port (its config in ``folder``) and yield its URL."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    conf.write_text(CONF.read_text() + f"\nlistener {port} 127.0.0.1\npersistence false\n")
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"mosquitto did not start on port {port}")
            time.sleep(0.05)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
