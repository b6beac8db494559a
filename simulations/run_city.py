"""``python -m simulations.run_city --scenario small|default``: run the city simulation against
a fresh platform and write the KPI report (HTML, PNG, JSON); prints the report's JSON path and
its headline figures.

The platform gets its own data folder (SQLite by default, or ``--database-url`` to an empty
database) and broker (a private Mosquitto with queues sized for the feed when the binary is
installed, else the embedded one; or ``--mqtt-url``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from fleet.logs import configure_logging
from simulations import mosquitto
from simulations.platform import PlatformConfig, running_platform
from simulations.report import write_report
from simulations.runner import run_scenario
from simulations.scenario import SCENARIOS


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="small")
    parser.add_argument("--out", type=Path, default=Path("data/simulation"), help="report folder")
    parser.add_argument("--database-url", help="an empty database for the platform (default: SQLite in a temp folder)")
    parser.add_argument("--mqtt-url", help="external broker, e.g. mqtt://127.0.0.1:1883 (default: a private "
                                           "Mosquitto with queues sized for the feed when the mosquitto binary is "
                                           "on PATH, else the embedded broker)")
    parser.add_argument("--embedded-broker", action="store_true", help="use the embedded broker even when "
                                                                        "mosquitto is available")
    parser.add_argument("--speed", type=float, help="simulated seconds per wall second")
    parser.add_argument("--requests", type=int, help="requests in the day")
    parser.add_argument("--data-dir", type=Path,
                        help="keep the platform's data folder here (SQLite database, logs) to inspect afterwards "
                             "(default: a temp folder, removed)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("WARNING", False)
    # A terminated run stops its platform processes and broker as an interrupted one does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    scenario = SCENARIOS[args.scenario]
    if args.speed:
        scenario = replace(scenario, speed=args.speed)
    if args.requests:
        scenario = replace(scenario, requests=args.requests)
    with tempfile.TemporaryDirectory(prefix="fleet-sim-") as folder, ExitStack() as stack:
        data_dir = args.data_dir or Path(folder)
        if args.data_dir is not None:
            if args.data_dir.exists() and any(args.data_dir.iterdir()):
                parser.error(f"--data-dir: {args.data_dir} is not empty")
            args.data_dir.mkdir(parents=True, exist_ok=True)
        mqtt_url = args.mqtt_url
        if mqtt_url is None and not args.embedded_broker and mosquitto.available():
            mqtt_url = stack.enter_context(mosquitto.private_mosquitto(Path(folder) / "mosquitto"))
        config = PlatformConfig(data_dir, database_url=args.database_url, mqtt_url=mqtt_url)
        with running_platform(config) as platform:
            data = run_scenario(platform, scenario, progress=not args.no_progress)
    report = write_report(data, args.out)
    headline = {"report": str(args.out / "report.html"), "run": report["run"], "service": report["service"],
                "ingest_lag_s": report["ingest_lag_s"],
                "detection": {k: {m: v[m] for m in ("precision", "recall", "delay_s_p50")}
                              for k, v in report["detection"]["per_kind"].items()}}
    print(json.dumps(headline, ensure_ascii=False, indent=2))
    return report


if __name__ == "__main__":
    main()
