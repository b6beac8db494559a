"""The small city scenario (20 cars, one simulated hour) against the real platform: `fleet
serve` and `fleet ingest` as processes, the test's broker and database; the report must
match the ground truth the simulation planted."""

from pathlib import Path

import pytest

from simulations.platform import PlatformConfig, running_platform
from simulations.report import write_report
from simulations.runner import run_scenario
from simulations.scenario import SCENARIOS

pytestmark = pytest.mark.slow  # a simulated hour of a city against served processes


def test_small_city_report_matches_ground_truth(db_url: str, mqtt_url: str, tmp_path: Path) -> None:
    scenario = SCENARIOS["small"]
    config = PlatformConfig(tmp_path / "platform", database_url=db_url, mqtt_url=mqtt_url)
    with running_platform(config) as platform:
        data = run_scenario(platform, scenario, progress=False)
        logs = {name: platform.tail(name) for name in platform.processes}
    report = write_report(data, tmp_path / "report")

    assert not [n for n in data.notes if "did not start" in n or "failed" in n], (data.notes, logs)
    service = report["service"]
    assert service["requests"] >= scenario.requests
    assert service["served_pool"] + service["served_lease"] + service["refused"] == service["requests"]
    assert service["served_pool"] == service["driven_pool_trips"] > 0
    assert report["fleet"]["pool_cars"] == scenario.cars

    detection = report["detection"]
    planted = {i["behaviour"] for i in detection["incidents"]}
    assert {"night_trip", "holiday_use", "forbidden_venue", "detour", "speeding", "unplugged"} <= planted
    missed = [(i["behaviour"], i["missed_kinds"]) for i in detection["incidents"] if i["missed_kinds"]]
    assert missed == []
    assert detection["false_alerts"] == []
    assert report["ingest_lag_s"]["samples"] > 0
    assert report["run"]["rejected_messages"] == 0
    for name in ("report.html", "report.json", "service_by_hour.png", "detection.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
