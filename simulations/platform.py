"""The real platform under simulation: ``fleet`` CLI calls, ``fleet serve`` and ``fleet ingest``
as separate processes, and an HTTP client for its API.

The simulation reaches the platform only through these three doors (and MQTT). With no broker
URL given, an embedded broker (amqtt) runs in the simulating process and both platform
processes are pointed at it, speaking MQTT 3.1.1 as the embedded broker requires.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fleet.broker import EmbeddedBroker

FLEET = [sys.executable, "-c", "from fleet.cli import main; main()"]
READY_TIMEOUT_S = 90.0


class PlatformError(RuntimeError):
    """The platform did not start, or a call it must answer failed; the message says which."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PlatformConfig:
    """Where the platform keeps its data and which broker it uses."""

    data_dir: Path
    database_url: str | None = None
    mqtt_url: str | None = None
    port: int = 0
    embedded_mqtt_port: int = 0  # 0: any free port
    log_level: str = "WARNING"
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, mqtt_url: str, ingest_metrics_port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
        # the simulated drivers (simulations.agents.drive_jobs) serve one trip at a time, so the
        # simulated platform plans without shared rides
        env |= {"FLEET_DATA_DIR": str(self.data_dir.resolve()), "FLEET_MQTT_URL": mqtt_url,
                "FLEET_DISPATCH_SHARING": "false",
                "FLEET_LOG_LEVEL": self.log_level, "FLEET_INGEST_METRICS_PORT": str(ingest_metrics_port),
                "FLEET_INGEST_CLIENT_ID": f"fleet-ingest-sim-{os.getpid()}-{ingest_metrics_port}"}
        if self.database_url:
            env["FLEET_DATABASE_URL"] = self.database_url
        if self.mqtt_url is None:
            env["FLEET_MQTT_PROTOCOL"] = "3.1.1"  # amqtt speaks MQTT 3.1.1 only
        return env | self.extra_env


class Platform:
    """A running platform: its base URL, broker URL, ingest metrics URL and processes."""

    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self.broker: EmbeddedBroker | None = None
        self.port = config.port or free_port()
        self.ingest_metrics_port = free_port()
        self.mqtt_url = config.mqtt_url or ""
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return self.config.env(self.mqtt_url, self.ingest_metrics_port)

    def start_broker(self) -> None:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        if self.config.mqtt_url is None:
            self.broker = EmbeddedBroker("127.0.0.1", self.config.embedded_mqtt_port or free_port())
            self.broker.start()
            self.mqtt_url = self.broker.url

    def cli(self, *args: str, timeout_s: float = 600) -> str:
        """Run ``fleet ARGS`` against this platform's settings; its standard output."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([*FLEET, *args], env=self._env(), cwd=self.config.data_dir, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise PlatformError(f"fleet {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    def spawn(self, name: str, *args: str) -> None:
        log = self.config.data_dir / f"{name}.log"
        self.logs[name] = log
        handle = log.open("wb")
        self.processes[name] = subprocess.Popen([*FLEET, *args], env=self._env(), cwd=self.config.data_dir,
                                                stdout=handle, stderr=subprocess.STDOUT)

    def start_services(self, ingest: bool = True) -> list[str]:
        """Start ``fleet serve`` (and ``fleet ingest``); wait until both answer. Returns what
        could not be started (e.g. ``ingest`` where the command does not exist yet)."""
        missing: list[str] = []
        self.spawn("serve", "serve", "--port", str(self.port))
        if ingest:
            self.spawn("ingest", "ingest")
        deadline = time.monotonic() + READY_TIMEOUT_S
        waiting = {"serve": f"{self.base_url}/readyz"}
        if ingest:
            waiting["ingest"] = f"http://127.0.0.1:{self.ingest_metrics_port}/metrics"
        while waiting and time.monotonic() < deadline:
            for name, url in list(waiting.items()):
                process = self.processes[name]
                if process.poll() is not None:
                    if name == "serve":
                        raise PlatformError(f"fleet serve exited: {self.tail(name)}")
                    missing.append(name)
                    waiting.pop(name)
                    continue
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        waiting.pop(name)
                except httpx.TransportError:
                    pass
            time.sleep(0.3)
        if "serve" in waiting:
            raise PlatformError(f"fleet serve not ready in {READY_TIMEOUT_S:.0f} s: {self.tail('serve')}")
        missing += list(waiting)
        return missing

    def tail(self, name: str, chars: int = 3000) -> str:
        log = self.logs.get(name)
        return log.read_text(errors="replace")[-chars:] if log and log.exists() else ""

    def ingest_metric(self, name: str) -> float | None:
        """A sample of the ingest worker's Prometheus metric ``name`` (summed over labels)."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.ingest_metrics_port}/metrics", timeout=2).text
        except httpx.TransportError:
            return None
        values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line.startswith(name) and not line.startswith("#") and (line[len(name)] in " {")]
        return sum(values) if values else None

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.broker is not None:
            self.broker.stop()


@contextmanager
def running_platform(config: PlatformConfig) -> Iterator[Platform]:
    platform = Platform(config)
    try:
        platform.start_broker()
        yield platform
    finally:
        platform.stop()


class Api:
    """An authenticated HTTP client for ``/api/v1``."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.http = httpx.Client(base_url=base_url + "/api/v1", timeout=180)
        answer = self.http.post("/auth/token", data={"username": username, "password": password})
        if answer.status_code != 200:
            raise PlatformError(f"login as {username} failed: {answer.status_code} {answer.text[:200]}")
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(path, json=body)

    def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list."""
        items: list[dict[str, Any]] = []
        while True:
            answer = self.http.get(path, params=params | {"limit": 200, "offset": len(items)})
            if answer.status_code != 200:
                raise PlatformError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
            page = answer.json()
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    def close(self) -> None:
        self.http.close()
