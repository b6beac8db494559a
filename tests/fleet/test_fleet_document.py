"""The fleet document: all-or-nothing import with paths and reasons, export round trip."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from fleet.audit import verify_chain
from fleet.fleet_document import FleetDocument, FleetImportError, export_fleet, import_fleet, validate_document
from fleet.models import AuditEntry, Organisation, User, Vehicle
from fleet.security import verify_password


def square(lon: float, lat: float, half_deg: float = 0.0005) -> dict[str, Any]:
    ring = [[lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg],
            [lon + half_deg, lat + half_deg], [lon - half_deg, lat + half_deg], [lon - half_deg, lat - half_deg]]
    return {"type": "Polygon", "coordinates": [ring]}


def small_document() -> dict[str, Any]:
    """A valid fleet: city, county, township, agencies, a depot with its site, a zone, a
    lessor, two users, a driver, a pool car and a leased car."""
    return {
        "format": "fleet-document/1",
        "organisations": [
            {"code": "C", "name": "连云港市", "level": "city"},
            {"code": "C-A01", "name": "市机关事务管理局", "level": "agency", "parent": "C"},
            {"code": "K", "name": "东海县", "level": "county", "parent": "C"},
            {"code": "T", "name": "牛山街道", "level": "township", "parent": "K"},
            {"code": "T-A01", "name": "牛山街道便民服务中心", "level": "agency", "parent": "T"},
        ],
        "lessors": [{
            "name": "港城租赁", "org": "C", "contract_start": "2024-01-01", "contract_end": "2028-12-31",
            "lat": 34.6, "lon": 119.2,
            "tariffs": [{"vehicle_class": "sedan", "seats": 5, "energy": "petrol", "base_cny": 180,
                         "per_km_cny": 1.6, "per_hour_cny": 35, "max_vehicles": 20}],
        }],
        "depots": {"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [119.22, 34.6]},
            "properties": {"name": "市车库", "org": "C-A01", "address": "朝阳东路"},
        }]},
        "parking_sites": {"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": square(119.22, 34.6),
            "properties": {"name": "市定点停车场", "org": "C-A01", "depot": "市车库"},
        }]},
        "zones": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": square(119.2, 34.6, 0.5),
             "properties": {"name": "市域", "org": "C", "kind": "allowed_area"}},
            {"type": "Feature", "geometry": square(119.3, 34.65),
             "properties": {"name": "某KTV", "org": "C", "kind": "forbidden_venue", "category": "entertainment"}},
        ]},
        "users": [
            {"username": "wang", "role": "driver", "org": "C-A01", "password": "driver-pass-1"},
            {"username": "liu", "role": "requester", "org": "T-A01", "password": "requester-pass-1"},
        ],
        "drivers": [{
            "name": "王师傅", "org": "C-A01", "licence_class": "C1", "phone": "13800000000",
            "shift_start": "07:30:00", "shift_end": "17:30:00", "home_depot": "市车库", "user": "wang",
        }],
        "vehicles": [
            {"plate": "苏G12345", "vin": "LSVAB2BM0CN123456", "org": "C-A01", "vehicle_class": "sedan",
             "seats": 5, "energy": "petrol", "emission_standard": "china5", "purchase_date": "2017-05-01",
             "purchase_price_cny": 150000, "odometer_km": 120000.5, "gps_device_id": "860000000000001",
             "home_depot": "市车库", "parking_site": "市定点停车场"},
            {"plate": "苏GD12345", "vin": "LGXCE4CB0MN123456", "org": "C-A01", "vehicle_class": "sedan",
             "seats": 5, "energy": "bev", "battery_range_km": 420, "purchase_date": "2024-03-01",
             "purchase_price_cny": 160000, "ownership": "leased", "lessor": "港城租赁",
             "hire_windows": [{"starts_at": "2024-03-01T00:00:00+08:00", "ends_at": "2027-01-01T00:00:00+08:00",
                               "note": "contract 2024-017"}]},
        ],
    }


def _count(session: Session, table: Any) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_valid_document_is_imported_with_paths_and_one_audit_entry(session: Session) -> None:
    counts = import_fleet(session, small_document())
    session.commit()

    assert counts["organisations"] == 5 and counts["vehicles"] == 2 and counts["zones"] == 2
    paths = {org.code: org.path for org in session.exec(select(Organisation))}
    ids = {org.code: org.id for org in session.exec(select(Organisation))}
    assert paths["T-A01"] == f"/{ids['C']}/{ids['K']}/{ids['T']}/{ids['T-A01']}/"
    assert paths["C"] == f"/{ids['C']}/"
    wang = session.exec(select(User).where(User.username == "wang")).one()
    assert verify_password(wang.password_hash, "driver-pass-1")
    entries = list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.actor, e.action, e.object_type) for e in entries] == [("cli", "import", "fleet_document")]
    assert verify_chain(entries) is None


def test_invalid_document_writes_nothing_and_reports_each_path(session: Session) -> None:
    doc = small_document()
    doc["vehicles"].extend(copy.deepcopy(doc["vehicles"]))
    bad_plate, unknown_org, duplicate_vin = doc["vehicles"][0], doc["vehicles"][2], doc["vehicles"][3]
    bad_plate["plate"] = "GD-123"
    unknown_org |= {"org": "NOPE", "plate": "苏G23456", "vin": "LSVAB2BM0CN654321", "gps_device_id": "860000000000002"}
    duplicate_vin |= {"plate": "苏GD23456", "lessor": None}
    doc["parking_sites"]["features"][0]["geometry"] = {
        "type": "Polygon", "coordinates": [[[119.0, 34.0], [119.1, 34.1], [119.1, 34.0], [119.0, 34.1], [119.0, 34.0]]],
    }
    doc["organisations"][3]["parent"] = "C"  # a township directly under the city

    with pytest.raises(FleetImportError) as caught:
        import_fleet(session, doc)
    session.rollback()

    reasons = {error.path: error.reason for error in caught.value.errors}
    assert "pattern" in reasons["vehicles[0].plate"]
    assert reasons["vehicles[2].org"] == "unknown organisation code 'NOPE'"
    assert "Self-intersection" in reasons["parking_sites.features[0].geometry"]
    assert reasons["organisations[3].parent"] == "a township must sit under a county, not under a city"
    assert reasons["vehicles[3].vin"].startswith("duplicate VIN 'LGXCE4CB0MN123456' (also at vehicles[1].vin)")
    assert reasons["vehicles[3].lessor"].startswith("a leased car needs lessor_id")
    assert len(caught.value.errors) == 6, caught.value.errors
    for table in (Organisation, Vehicle, User, AuditEntry):
        assert _count(session, table) == 0


def test_import_into_existing_data_adds_new_records_and_rejects_repeats(session: Session) -> None:
    import_fleet(session, small_document())
    session.commit()
    addition = {
        "organisations": [{"code": "C-A02", "name": "市教育局", "level": "agency", "parent": "C"}],
        "vehicles": [{"plate": "苏G54321", "vin": "LFVAB2BM0CN123457", "org": "C-A02", "vehicle_class": "mpv",
                      "seats": 7, "energy": "hev", "emission_standard": "china6", "purchase_date": "2022-01-01",
                      "purchase_price_cny": 200000, "home_depot": "市车库"}],
        "drivers": [{"name": "赵师傅", "org": "C-A02", "licence_class": "C1", "phone": "13900000000",
                     "shift_start": "08:00", "shift_end": "17:00", "user": "wang"}],
    }
    with pytest.raises(FleetImportError) as caught:
        import_fleet(session, addition)
    assert [str(e) for e in caught.value.errors] == [
        "drivers[0].user: user 'wang' is already the login of a driver (the database)"
    ]
    del addition["drivers"]
    assert import_fleet(session, addition)["vehicles"] == 1
    session.commit()
    repeat = {"vehicles": [small_document()["vehicles"][0]]}
    with pytest.raises(FleetImportError) as caught:
        import_fleet(session, repeat)
    assert {e.path for e in caught.value.errors} == {"vehicles[0].plate", "vehicles[0].vin", "vehicles[0].gps_device_id"}


def test_round_trip_gives_the_same_document(engine: Any, session: Session, fresh_sqlite_url: str) -> None:
    from fleet.db import make_engine

    import_fleet(session, small_document())
    session.commit()
    first = export_fleet(session).as_json()
    assert first["users"][0]["password_hash"].startswith("$argon2")
    assert "password" not in first["users"][0]

    fresh = make_engine(fresh_sqlite_url)
    with Session(fresh) as other:
        import_fleet(other, first)
        other.commit()
        assert export_fleet(other).as_json() == first
    fresh.dispose()


def test_schema_describes_the_document() -> None:
    schema = FleetDocument.model_json_schema()
    vehicle = schema["$defs"]["VehicleRecord"]
    assert vehicle["properties"]["plate"]["pattern"].startswith("^")
    assert {"org", "lessor", "home_depot", "parking_site"} <= set(vehicle["properties"])
    assert "org_id" not in vehicle["properties"]


def test_not_an_object_and_unknown_sections_are_reported() -> None:
    with pytest.raises(FleetImportError) as caught:
        validate_document([1, 2])
    assert [e.path for e in caught.value.errors] == ["$"]
    with pytest.raises(FleetImportError) as caught:
        validate_document({"vehicle": [], "zones": {"type": "Feature", "features": []}})
    assert {e.path for e in caught.value.errors} == {"vehicle", "zones.type"}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def _leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, (*prefix, k))] or [prefix]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, (*prefix, i))] or [prefix]
    return [prefix]


_PATHS = _leaf_paths(small_document())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_PATHS), _JSON)
def test_any_bad_value_is_an_import_error_never_a_crash(path: tuple[Any, ...], value: Any) -> None:
    doc = small_document()
    holder: Any = doc
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    try:
        validate_document(doc)
    except FleetImportError as exc:
        assert exc.errors and all(error.path and error.reason for error in exc.errors)
