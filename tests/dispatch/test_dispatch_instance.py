"""Instance files: valid ones load, bad ones get one clear ``path: rule`` line per problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dispatch_builders import car, day, lessor, tariff, trip

from dispatch.instance import InstanceError, lease_vehicle_ids, load_instance, parse_instance


def _errors(data: dict) -> list[str]:
    with pytest.raises(InstanceError) as caught:
        parse_instance(data)
    return caught.value.messages


def test_valid_instance_loads_with_defaults() -> None:
    instance = parse_instance(day([car("P1")], [trip("R1", 1, 5, "09:00", "09:10")]))
    assert instance.requests[0].vehicle_class is None
    assert instance.vehicles[0].vehicle_class == "sedan"
    assert instance.policy.range_margin_fraction == pytest.approx(0.15)
    assert instance.travel.model == "haversine"


def test_pickup_window_reversed_names_the_field() -> None:
    data = day([car("P1")], [trip("R1", 1, 5, "09:00"), trip("R2", 1, 5, "09:30", "09:00")])
    assert _errors(data) == ["requests[1].pickup_latest: must not be before pickup_earliest"]


def test_naive_time_is_refused() -> None:
    data = day([car("P1")], [trip("R1", 1, 5, "09:00", pickup_earliest="2026-11-03T09:00:00")])
    (message,) = _errors(data)
    assert message.startswith("requests[0].pickup_earliest: must be an ISO-8601 time with a UTC offset")


def test_unknown_depot_and_duplicate_id() -> None:
    assert _errors(day([car("P1", depot="X")], [])) == ["vehicles[0].depot: unknown depot 'X'"]
    assert _errors(day([car("P1"), car("P1")], [])) == ["vehicles[1].id: duplicate id 'P1'"]


def test_field_type_and_missing_field_errors_name_the_path() -> None:
    data = day([car("P1", seats=0)], [trip("R1", 1, 5, "09:00")])
    del data["requests"][0]["origin"]
    messages = _errors(data)
    assert "vehicles[0].seats: Input should be greater than or equal to 1" in messages
    assert "requests[0].origin: Field required" in messages


def test_unknown_class_and_energy_are_refused() -> None:
    messages = _errors(day([car("P1", energy="steam", **{"class": "tank"})], []))
    assert any(m.startswith("vehicles[0].class: Input should be") for m in messages)
    assert any(m.startswith("vehicles[0].energy: Input should be") for m in messages)


def test_shift_must_end_after_it_starts() -> None:
    data = day([car("P1", shift_end="2026-11-03T06:00:00+08:00")], [])
    assert _errors(data) == ["vehicles[0].shift_end: must be after shift_start"]


def test_confirmed_must_name_known_request_and_vehicle() -> None:
    data = day([car("P1")], [trip("R1", 1, 5, "09:00")], confirmed={"R1": "P9"})
    assert _errors(data) == ["confirmed.R1: unknown vehicle 'P9'"]
    data = day([car("P1")], [trip("R1", 1, 5, "09:00")], lessors=[lessor("L1", 0, tariff(max_vehicles=2))],
               confirmed={"R1": "L1:sedan:2"})
    assert parse_instance(data).confirmed == {"R1": "L1:sedan:2"}


def test_lease_vehicle_ids_count_per_class() -> None:
    data = day([], [], lessors=[lessor("L1", 0, tariff(max_vehicles=2), tariff(energy="bev", max_vehicles=1),
                                       tariff(**{"class": "mpv"}, seats=6, max_vehicles=1))])
    assert lease_vehicle_ids(parse_instance(data)) == ["L1:sedan:1", "L1:sedan:2", "L1:sedan:3", "L1:mpv:1"]


def test_load_instance_reports_bad_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InstanceError, match="not valid JSON"):
        load_instance(bad)
    with pytest.raises(InstanceError, match="cannot read file"):
        load_instance(tmp_path / "missing.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(day([car("P1")], [])))
    assert load_instance(good).vehicles[0].id == "P1"
