"""The statistics report on a small hand-checked world: the conftest world (a hand-made pool
assignment of 120 CNY on Tue 2026-12-01 09:00, its trip of 42 km started on time, an open
parking alert) plus, on Wed 2026-12-02, a county BEV car's pool trip started 12 minutes late
(18 km, 1.5 h, 80 CNY), a leased trip of an accepted plan completed (300 CNY), and what must
not count: a proposed plan's assignment, a cancelled request's, an alert after the range."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from sqlmodel import Session

from fleet.models import Alert, Assignment, AssignmentKind, DispatchPlan, PlanStatus, Role, Trip
from fleet.security import issue_token
from tests.builders import World, add, local_time, trip_request, user, vehicle
from tests.web.conftest import PASSWORD_HASH

WED = date(2026, 12, 2)
RANGE = {"since": "2026-12-01", "until": "2026-12-03"}


@pytest.fixture
def stats_world(session: Session, world: World, client) -> World:  # type: ignore[no-untyped-def]
    w = world
    bev = vehicle(session, "苏GD0001", "LSVAA4180E2000101", w.ids["county"], energy="bev", emission_standard=None,
                  battery_range_km=400)
    pickup = local_time(WED, 10)

    def assign(kind: AssignmentKind, cost: float, state: str, plan_id: int | None = None,
               vehicle_id: int | None = None) -> Assignment:
        request = trip_request(session, w.ids["other_agency"], w.ids["user_other_requester"], pickup, (34.7, 119.3),
                               state=state)
        return add(session, Assignment(request_id=request.id, kind=kind, vehicle_id=vehicle_id, planned_pickup=pickup,
                                       planned_dropoff=pickup + timedelta(hours=1), cost_cny=cost,
                                       org_id=w.ids["other_agency"], plan_id=plan_id))

    accepted = add(session, DispatchPlan(service_date=WED, org_id=w.ids["city"], status=PlanStatus.accepted,
                                         created_by="dispatcher"))
    proposed = add(session, DispatchPlan(service_date=WED, org_id=w.ids["city"], status=PlanStatus.proposed,
                                         created_by="dispatcher"))
    late = assign(AssignmentKind.pool, 80, "in_progress", vehicle_id=bev.id)
    assign(AssignmentKind.lease, 300, "completed", plan_id=accepted.id)
    assign(AssignmentKind.pool, 999, "assigned", plan_id=proposed.id)
    assign(AssignmentKind.pool, 50, "cancelled")
    session.add(Trip(vehicle_id=bev.id, assignment_id=late.id, started_at=pickup + timedelta(minutes=12),
                     ended_at=pickup + timedelta(minutes=102), distance_km=18.0))
    session.add(Alert(kind="speeding", vehicle_id=bev.id, started_at=pickup, state="confirmed"))
    session.add(Alert(kind="speeding", vehicle_id=bev.id, started_at=local_time(date(2026, 12, 4), 0, 30)))
    county_dispatcher = user(session, "county_dispatcher", Role.dispatcher, w.ids["county"], PASSWORD_HASH)
    session.commit()
    w.ids.update(bev=bev.id)
    w.tokens["county_dispatcher"] = issue_token(county_dispatcher.id, client.app.state.signing_key, 3600)
    return w


def _get(client, w: World, role: str = "dispatcher", path: str = "/api/v1/statistics", **query):  # type: ignore[no-untyped-def]
    return client.get(path, params={**RANGE, **query}, headers=w.auth(role))


def test_city_figures_by_hand(client, stats_world):
    body = _get(client, stats_world, org_id=stats_world.ids["city"]).json()
    assert (body["trips_planned"], body["trips_completed"], body["trips_driven"]) == (3, 1, 2)
    assert (body["km"], body["nev_km"], body["nev_km_share"]) == (60.0, 18.0, 0.3)
    assert body["pool"] == {"trips_planned": 2, "trips_completed": 0, "cost_planned_cny": 200.0,
                            "cost_completed_cny": 0.0}
    assert body["lease"] == {"trips_planned": 1, "trips_completed": 1, "cost_planned_cny": 300.0,
                             "cost_completed_cny": 300.0}
    assert body["cost_cny"] == 500.0
    assert [(d["day"], d["trips_planned"], d["pool_cost_cny"], d["lease_cost_cny"], d["km"]) for d in body["per_day"]] == [
        ("2026-12-01", 1, 120.0, 0.0, 42.0), ("2026-12-02", 2, 80.0, 300.0, 18.0), ("2026-12-03", 0, 0.0, 0.0, 0.0)]
    # Tue-Thu are three working days of 10 h: 30 h; the BEV drove 1.5 h, the sedan 1 h
    assert (body["working_days"], body["working_hours_per_day"]) == (3, 10.0)
    assert [(c["plate"], c["trip_hours"], c["utilisation"], c["trips_per_working_day"]) for c in body["cars"]] == [
        ("苏GD0001", 1.5, 0.05, 0.333), ("苏G12345", 1.0, 0.0333, 0.333)]
    assert body["punctuality"] == {"available": True, "reason": None, "tolerance_s": 300.0, "measured": 2,
                                   "on_time": 1, "on_time_share": 0.5, "mean_delay_min": 6.0,
                                   "median_delay_min": 6.0, "mean_wait_min": 6.0, "max_wait_min": 12.0}
    assert body["alerts_by_kind"] == {"parking.off_site_night": 1, "speeding": 1}
    assert body["alerts_by_state"] == {"confirmed": 1, "open": 1}
    assert body["alerts_total"] == 2


def test_default_org_and_county_scope(client, stats_world):
    """The default is the caller's organisation; a county dispatcher sees the county's
    agency and cars, and not the city (404, as for an organisation that does not exist)."""
    assert _get(client, stats_world).json()["org_id"] == stats_world.ids["city"]
    county = _get(client, stats_world, "county_dispatcher").json()
    assert county["org_id"] == stats_world.ids["county"]
    assert (county["trips_planned"], county["cost_cny"], county["km"], county["nev_km_share"]) == (1, 120.0, 18.0, 1.0)
    assert county["alerts_by_kind"] == {"speeding": 1}
    assert [c["plate"] for c in county["cars"]] == ["苏GD0001"]
    refused = _get(client, stats_world, "county_dispatcher", org_id=stats_world.ids["city"])
    assert refused.status_code == 404 and "organisation" in refused.json()["detail"]
    assert _get(client, stats_world, org_id=999999).status_code == 404
    for role in ("driver", "requester", "approver", "planner"):
        assert _get(client, stats_world, role).status_code == 403, role


def test_punctuality_unavailable_without_linked_trips(client, stats_world):
    body = _get(client, stats_world, since="2026-12-03", until="2026-12-03").json()
    assert body["punctuality"]["available"] is False and body["punctuality"]["reason"] == "no_linked_trips"
    assert body["nev_km_share"] is None and body["trips_planned"] == 0


@pytest.mark.parametrize("query,field,rule", [
    ({"since": "2026-12-03", "until": "2026-12-01"}, "until", "before since"),
    ({"since": "2025-01-01", "until": "2026-01-02"}, "until", "at most 366 days"),
])
def test_range_errors_name_the_field(client, stats_world, query, field, rule):
    response = client.get("/api/v1/statistics", params=query, headers=stats_world.auth("admin"))
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}:") and rule in response.json()["detail"]


def test_bad_date_names_the_field(client, stats_world):
    response = client.get("/api/v1/statistics", params={"since": "2026-13-01"}, headers=stats_world.auth("admin"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "since"]


def _csv_tables(text: str) -> dict[str, list[list[str]]]:
    tables: dict[str, list[list[str]]] = {}
    rows = list(csv.reader(io.StringIO(text)))
    name = None
    for row in rows:
        if not row:
            name = None
        elif name is None:
            name = row[0]
            tables[name] = []
        else:
            tables[name].append(row)
    return tables


def test_csv_download_matches(client, stats_world):
    response = _get(client, stats_world, "auditor", "/api/v1/statistics.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    tables = _csv_tables(response.content.decode("utf-8-sig"))
    summary = dict(tables["summary"][1:])
    assert (summary["trips_planned"], summary["km"], summary["nev_km_share"]) == ("3", "60.0", "0.3")
    assert (summary["pool_cost_planned_cny"], summary["lease_cost_planned_cny"]) == ("200.0", "300.0")
    assert tables["days"][0][:2] == ["day", "trips_planned"] and len(tables["days"]) == 4
    assert tables["cars"][1][1] == "苏GD0001"
    assert ["kind", "speeding", "1"] in tables["alerts"] and ["state", "open", "1"] in tables["alerts"]


def _xlsx_sheets(content: bytes) -> dict[str, list[list[str]]]:
    """Each sheet's cells as text, read from the workbook's XML (inline or shared strings)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        names = [s.get("name") for s in ElementTree.fromstring(book.read("xl/workbook.xml")).iter(f"{{{ns['m']}}}sheet")]
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            shared = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                      for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns)]
        sheets = {}
        for number, name in enumerate(names, start=1):
            root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{number}.xml"))
            rows = []
            for row in root.iter(f"{{{ns['m']}}}row"):
                values = []
                for c in row.findall("m:c", ns):
                    if c.get("t") == "s":
                        values.append(shared[int(c.find("m:v", ns).text)])
                    elif c.get("t") == "inlineStr":
                        values.append("".join(t.text or "" for t in c.iter(f"{{{ns['m']}}}t")))
                    else:
                        v = c.find("m:v", ns)
                        values.append(v.text if v is not None else "")
                rows.append(values)
            sheets[name] = rows
    return sheets


def test_xlsx_download_matches(client, stats_world):
    response = _get(client, stats_world, "admin", "/api/v1/statistics.xlsx")
    assert response.status_code == 200 and response.content.startswith(b"PK")
    assert re.search(r'filename="statistics-\d+-2026-12-01-2026-12-03\.xlsx"', response.headers["content-disposition"])
    sheets = _xlsx_sheets(response.content)
    assert list(sheets) == ["summary", "days", "cars", "alerts"]
    summary = {row[0]: row[1] for row in sheets["summary"][1:] if len(row) > 1}
    assert float(summary["cost_cny"]) == 500.0 and float(summary["nev_km"]) == 18.0
    assert float(summary["punctuality_on_time_share"]) == 0.5
    assert [row[0] for row in sheets["days"][1:]] == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert sheets["cars"][1][1] == "苏GD0001" and float(sheets["cars"][1][7]) == 0.05


def test_page_and_bar_link_for_the_readers_only(client, stats_world):
    from web.deps import SESSION_COOKIE

    for role, allowed in (("dispatcher", True), ("auditor", True), ("admin", True), ("requester", False),
                          ("planner", False)):
        client.cookies.set(SESSION_COOKIE, stats_world.tokens[role])
        page = client.get("/statistics", follow_redirects=False)
        home = client.get("/replacement" if role == "planner" else "/requests" if role == "requester" else "/",
                          follow_redirects=True)
        if allowed:
            assert page.status_code == 200 and 'src="/static/js/statistics.js"' in page.text, role
        else:
            assert page.status_code == 303, role
        assert ('href="/statistics"' in home.text) == allowed, role
    client.cookies.clear()
