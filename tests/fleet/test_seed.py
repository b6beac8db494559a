"""The synthetic Lianyungang fleet: sizes, realism, determinism, and refusal to reseed."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func
from sqlmodel import Session, select

from fleet.fleet_document import export_fleet, validate_document
from fleet.models import Organisation, Place, User, Vehicle
from fleet.models.vehicle import PLATE_PATTERN, VIN_PATTERN
from fleet.security import verify_password
from fleet.seed import (
    AlreadySeeded,
    build_seed_document,
    build_seed_places,
    seed_database,
    vin_with_check_digit,
)


@pytest.fixture(scope="module")
def document() -> dict:
    return build_seed_document(2021)[0]


@pytest.mark.slow  # seeds the whole synthetic fleet
def test_seed_fills_an_empty_database_once(db_url: str, engine) -> None:
    summary = seed_database(db_url, seed=2021)

    counts = summary["counts"]
    assert counts["organisations"] == 217 and counts["lessors"] == 3
    assert 590 <= counts["vehicles"] <= 620 and 550 <= counts["drivers"] <= counts["vehicles"]
    assert counts["zones"] == 31 and counts["depots"] == counts["parking_sites"] == 67
    assert counts["places"] == 150 + 67 + 6 + 12  # offices, depots, county seats, destinations
    assert {login["role"] for login in summary["logins"]} == {
        "admin", "dispatcher", "driver", "requester", "approver", "auditor",
        "planner"}
    with Session(engine) as session:
        levels = Counter(session.exec(select(Organisation.level)))
        assert levels == {"city": 1, "county": 6, "township": 60, "agency": 150}
        admin = session.exec(select(User).where(User.username == "admin")).one()
        assert verify_password(admin.password_hash, "admin-demo-2021")
        assert session.exec(select(func.count()).select_from(Vehicle)).one() == counts["vehicles"]
        assert session.exec(select(func.count()).select_from(Place)).one() == counts["places"]
        assert export_fleet(session).as_json()["vehicles"][0]["plate"]

    with pytest.raises(AlreadySeeded, match="already has organisations"):
        seed_database(db_url)


def test_seed_is_deterministic_and_valid(document: dict) -> None:
    assert build_seed_document(2021)[0] == document
    assert build_seed_document(7)[0]["vehicles"] != document["vehicles"]
    validate_document(document)  # raises FleetImportError on any problem


def test_seed_cars_look_like_a_real_fleet(document: dict) -> None:
    vehicles = document["vehicles"]
    assert all(re.match(PLATE_PATTERN, v["plate"]) and re.match(VIN_PATTERN, v["vin"]) for v in vehicles)
    assert all(vin_with_check_digit(v["vin"]) == v["vin"] for v in vehicles)
    assert all(v["plate"].startswith(("苏GD", "苏GF")) == (v["energy"] in ("bev", "phev")) for v in vehicles)
    classes = Counter(v["vehicle_class"] for v in vehicles)
    assert classes.most_common(1)[0][0] == "sedan" and classes["bus"] < classes["mpv"]
    years = [int(v["purchase_date"][:4]) for v in vehicles]
    assert max(years) - min(years) >= 14

    def nev_share(cars: list[dict]) -> float:
        return sum(c["energy"] in ("bev", "phev") for c in cars) / len(cars)

    old = [v for v in vehicles if v["purchase_date"] < "2018"]
    new = [v for v in vehicles if v["purchase_date"] >= "2022"]
    assert nev_share(old) < 0.15 < 0.3 < nev_share(new)
    assert Counter(v["energy"] for v in vehicles).most_common(1)[0][0] == "petrol"


def test_seed_places_lie_inside_the_city(document: dict) -> None:
    zones = document["zones"]["features"]
    boundary = shape(zones[0]["geometry"])
    assert zones[0]["properties"]["kind"] == "allowed_area"
    points = [Point(f["geometry"]["coordinates"]) for f in document["depots"]["features"]]
    points += [shape(f["geometry"]).centroid for f in zones[1:] + document["parking_sites"]["features"]]
    assert all(boundary.contains(p) for p in points)
    categories = Counter(f["properties"]["category"] for f in zones[1:])
    assert set(categories) == {"entertainment", "restaurant", "scenic", "residential", "other"}



def test_seed_names_the_places_requesters_pick_from(document: dict) -> None:
    places = build_seed_places(document)
    assert build_seed_places(document) == places
    boundary = shape(document["zones"]["features"][0]["geometry"])
    assert all(boundary.contains(Point(p["lon"], p["lat"])) for p in places)
    kinds = Counter(p["kind"] for p in places)
    assert kinds == {"office": 150, "depot": 67, "county_seat": 6, "destination": 12}
    agencies = {o["code"] for o in document["organisations"] if o["level"] == "agency"}
    assert {p["org"] for p in places if p["kind"] == "office"} == agencies
    names = {p["name"] for p in places if p["kind"] == "destination"}
    assert {"市政府", "市人民医院", "连云港站", "花果山机场", "市体育中心", "市会议中心"} <= names
    assert len({(p["org"], p["name"]) for p in places}) == len(places)
