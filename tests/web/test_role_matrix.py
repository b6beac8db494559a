"""Every endpoint x every role: who gets 200/201, who 403, and 401 without credentials.

The expected matrix below is the access policy written out by hand; the world fixture puts
the admin, dispatcher, driver and auditor at city level and the requester and approver in
one agency, with a planned request assigned to the driver."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.web.conftest import SQUARE, World

ROLES = ["admin", "dispatcher", "driver", "requester", "approver", "auditor"]
#: A pickup tomorrow (a requester may not ask for one in the past).
T = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)


def everyone(code: int = 200) -> dict[str, int]:
    return {role: code for role in ROLES}


def only(*roles: str, code: int = 200) -> dict[str, int]:
    return {role: (code if role in roles else 403) for role in ROLES}


FLEET_READ = only("admin", "dispatcher", "auditor")
PLACE_READ = only("admin", "dispatcher", "driver", "auditor")
ADMIN = only("admin")
ADMIN_CREATE = only("admin", code=201)


def vehicle_body(w: World) -> dict:
    return {"plate": "苏G54321", "vin": "LSVAA4180E2000002", "org_id": w.ids["city"], "vehicle_class": "mpv",
            "seats": 7, "energy": "bev", "purchase_date": "2024-03-01", "purchase_price_cny": 170000,
            "battery_range_km": 450, "gps_device_id": "dev-0002"}


def request_body(w: World) -> dict:
    return {"agency_id": w.ids["agency"], "purpose": "会议", "passengers": 2, "origin_lat": 34.6,
            "origin_lon": 119.2, "origin_address": "市政府", "destination_lat": 34.7, "destination_lon": 119.3,
            "destination_address": "市会议中心", "pickup_earliest": T.isoformat(),
            "pickup_latest": (T + timedelta(minutes=30)).isoformat()}


# (method, path template, body factory or None, expected status per role)
CASES = [
    ("GET", "/auth/me", None, everyone()),
    ("GET", "/organisations", None, everyone()),
    ("GET", "/organisations/{agency}", None, everyone()),
    ("POST", "/organisations", lambda w: {"name": "东海县水利局", "code": "320722-WAT", "level": "agency",
                                          "parent_id": w.ids["county"]}, ADMIN_CREATE),
    ("PATCH", "/organisations/{agency}", lambda w: {"name": "东海县教育和体育局"}, ADMIN),
    ("GET", "/users", None, ADMIN),
    ("GET", "/users/{user_requester}", None, ADMIN),
    ("POST", "/users", lambda w: {"username": "newuser", "role": "requester", "org_id": w.ids["agency"],
                                  "password": "long-enough-pw-1"}, ADMIN_CREATE),
    ("PATCH", "/users/{user_requester}", lambda w: {"full_name": "李四"}, ADMIN),
    ("GET", "/depots", None, PLACE_READ),
    ("GET", "/depots/{depot}", None, PLACE_READ),
    ("POST", "/depots", lambda w: {"name": "东海车队", "org_id": w.ids["county"], "lat": 34.5, "lon": 118.8},
     ADMIN_CREATE),
    ("PATCH", "/depots/{depot}", lambda w: {"address": "海州区朝阳东路"}, ADMIN),
    ("GET", "/parking-sites", None, PLACE_READ),
    ("GET", "/parking-sites/{parking_site}", None, PLACE_READ),
    ("POST", "/parking-sites", lambda w: {"name": "东海停车场", "org_id": w.ids["county"], "geometry": SQUARE},
     ADMIN_CREATE),
    ("PATCH", "/parking-sites/{parking_site}", lambda w: {"name": "一号停车场"}, ADMIN),
    ("GET", "/zones", None, PLACE_READ),
    ("GET", "/zones/{zone}", None, PLACE_READ),
    ("POST", "/zones", lambda w: {"name": "市域", "org_id": w.ids["city"], "kind": "allowed_area",
                                  "geometry": SQUARE}, ADMIN_CREATE),
    ("PATCH", "/zones/{zone}", lambda w: {"category": "restaurant"}, ADMIN),
    ("GET", "/speed-zones", None, PLACE_READ),
    ("GET", "/speed-zones/{speed_zone}", None, PLACE_READ),
    ("POST", "/speed-zones", lambda w: {"name": "实验小学路段", "org_id": w.ids["city"], "limit_kmh": 30,
                                        "geometry": SQUARE}, ADMIN_CREATE),
    ("PATCH", "/speed-zones/{speed_zone}", lambda w: {"limit_kmh": 40}, ADMIN),
    ("GET", "/vehicles", None, FLEET_READ),
    ("GET", "/vehicles/{vehicle}", None, FLEET_READ),
    ("POST", "/vehicles", vehicle_body, ADMIN_CREATE),
    ("PATCH", "/vehicles/{vehicle}", lambda w: {"status": "maintenance"}, only("admin", "dispatcher")),
    ("POST", "/vehicles/{vehicle}/odometer-corrections",
     lambda w: {"odometer_km": 79_000, "reason": "读数录入错误"}, ADMIN),
    ("GET", "/vehicles/{vehicle}/devices", None, FLEET_READ),
    ("GET", "/vehicles/{vehicle}/hire-windows", None, FLEET_READ),
    # the world's car is a pool car: a hire window for it is refused (422) past the role check
    ("POST", "/vehicles/{vehicle}/hire-windows", lambda w: {"starts_at": "2026-12-02T08:00:00+08:00",
                                                            "ends_at": "2026-12-02T18:00:00+08:00"},
     only("admin", "dispatcher", code=422)),
    # "{vehicle}" stands for a hire window id that is not one
    ("DELETE", "/vehicles/{vehicle}/hire-windows/{vehicle}", None, only("admin", "dispatcher", code=404)),
    ("GET", "/drivers", None, FLEET_READ),
    ("GET", "/drivers/{driver}", None, FLEET_READ),
    ("POST", "/drivers", lambda w: {"name": "王师傅", "org_id": w.ids["city"], "licence_class": "A1",
                                    "phone": "13900000000", "shift_start": "07:30", "shift_end": "17:30"},
     ADMIN_CREATE),
    ("PATCH", "/drivers/{driver}", lambda w: {"phone": "13900000001"}, ADMIN),
    ("GET", "/lessors", None, FLEET_READ),
    ("GET", "/lessors/{lessor}", None, FLEET_READ),
    ("POST", "/lessors", lambda w: {"name": "苏北租赁", "org_id": w.ids["city"], "contract_start": "2026-01-01",
                                    "contract_end": "2026-12-31", "lat": 34.6, "lon": 119.2, "tariffs": []},
     ADMIN_CREATE),
    ("PATCH", "/lessors/{lessor}", lambda w: {"phone": "0518-1234567"}, ADMIN),
    ("GET", "/trip-requests", None, everyone()),
    ("GET", "/trip-requests/{request}", None, everyone()),
    # every role reads it; the world's request is only planned, so there is no car yet to show
    ("GET", "/trip-requests/{request}/assignment", None, everyone(404)),
    ("POST", "/trip-requests", request_body, only("admin", "requester", code=201)),
    ("PATCH", "/trip-requests/{draft_request}", lambda w: {"passengers": 4}, only("admin", "requester")),
    ("POST", "/trip-requests/{request}/transitions", lambda w: {"to": "assigned"}, only("admin", "dispatcher")),
    ("GET", "/trip-requests/pending-approval", None, only("admin", "approver")),
    # The world has no submitted request to decide on: a batch naming one id twice passes the
    # role check and is refused (422); batches that move requests are tested in test_approvals.
    ("POST", "/trip-requests/transitions", lambda w: {"ids": [w.ids["draft_request"]] * 2, "to": "approved"},
     only("admin", "approver", code=422)),
    ("GET", "/assignments", None, only("admin", "dispatcher", "driver", "auditor")),
    ("GET", "/assignments/{assignment}", None, only("admin", "dispatcher", "driver", "auditor")),
    ("POST", "/assignments", lambda w: {"request_id": w.ids["request"], "kind": "lease", "lessor_id": w.ids["lessor"],
                                        "planned_pickup": T.isoformat(),
                                        "planned_dropoff": (T + timedelta(hours=2)).isoformat(), "cost_cny": 300},
     only("admin", "dispatcher", code=201)),
    ("PATCH", "/assignments/{assignment}", lambda w: {"confirmed": True}, only("admin", "dispatcher")),
    ("POST", "/assignments/{assignment}/events", lambda w: {"event": "problem", "note": "爆胎"},
     only("admin", "dispatcher", "driver")),
    ("GET", "/driver/today", None, {**only("driver"), "admin": 422, "dispatcher": 422}),
    # the slip: the agency's staff, the assigned driver and the fleet's readers in scope
    ("GET", "/assignments/{assignment}/slip", None, everyone()),
    ("GET", "/assignments/{assignment}/slip.pdf", None, everyone()),
    ("GET", "/map/depots", None, PLACE_READ),
    ("GET", "/map/parking-sites", None, PLACE_READ),
    ("GET", "/map/zones", None, PLACE_READ),
    ("GET", "/map/vehicles", None, FLEET_READ),
    ("GET", "/map/vehicles/{vehicle}", None, FLEET_READ),
    # Named places: everyone signed in picks from them, administrators keep them. The world has
    # none: "{vehicle}" stands for a place id that is not one (404 for every reader; the admin
    # passes the role check of an update and gets 404 too).
    ("GET", "/places", None, everyone()),
    ("GET", "/places/{vehicle}", None, everyone(404)),
    ("POST", "/places", lambda w: {"name": "市会议中心", "kind": "destination", "org_id": w.ids["city"],
                                   "lat": 34.60, "lon": 119.21, "address": "海州区朝阳东路"}, ADMIN_CREATE),
    ("PATCH", "/places/{vehicle}", lambda w: {"active": False}, only("admin", code=404)),
    ("GET", "/trips", None, only("admin", "dispatcher", "driver", "auditor")),
    ("GET", "/trips/{trip}", None, only("admin", "dispatcher", "driver", "auditor")),
    ("GET", "/positions", None, FLEET_READ),
    ("GET", "/stops", None, FLEET_READ),
    ("GET", "/alerts", None, FLEET_READ),
    ("GET", "/alerts/{alert}", None, FLEET_READ),
    ("GET", "/audit-entries", None, only("admin", "auditor")),
    # dispatch: the world has no plan, so roles past the role check get 404 on a plan id
    ("GET", "/dispatch/plans", None, FLEET_READ),
    ("GET", "/dispatch/plans/{request}", None, only("admin", "dispatcher", "auditor", code=404)),
    ("POST", "/dispatch/plans", lambda w: {"service_date": "2026-12-02", "time_limit_s": 0.5},
     only("admin", "dispatcher", code=201)),
    ("POST", "/dispatch/plans/{request}/accept", None, only("admin", "dispatcher", code=404)),
    ("POST", "/dispatch/plans/{request}/insert", lambda w: {"request_id": w.ids["other_request"]},
     only("admin", "dispatcher", code=404)),
    ("GET", "/dispatch/figures", None, FLEET_READ),
    # Compliance: alert review, expense imports, inspector exports (auditors only), audit verification.
    ("POST", "/alerts/{alert}/review", lambda w: {"to": "under_review"}, only("admin", "dispatcher")),
    ("GET", "/alerts/{alert}/reviews", None, FLEET_READ),
    ("POST", "/expenses/imports", lambda w: {"kind": "repair", "csv": "plate,occurred_at,workshop,amount_cny,description\n"
                                            "苏G12345,2026-12-01T10:00:00+08:00,港城汽修,800,更换刹车片\n"},
     only("admin", "dispatcher", code=201)),
    ("GET", "/expenses", None, FLEET_READ),
    ("POST", "/exports", lambda w: {"since": "2026-11-30T00:00:00+08:00", "until": "2026-12-03T00:00:00+08:00"},
     only("auditor", code=201)),
    ("GET", "/exports", None, only("auditor")),
    # the world has no export: "{vehicle}" stands for an export id that is not one
    ("GET", "/exports/{vehicle}/verification", None, only("auditor", code=404)),
    ("GET", "/exports/{vehicle}/bundle", None, only("auditor", code=404)),
    # without a bundle in the body the check is refused (422) past the role check
    ("POST", "/exports/verification", None, only("admin", "auditor", code=422)),
    ("GET", "/audit/entries", None, only("admin", "auditor")),
    ("GET", "/audit/verification", None, only("admin", "auditor")),
    # Replacement planning. The world has no stored plan or filing: "{vehicle}" stands for an id
    # that is not one (admin and auditor pass the role check and get 404); filing by a county
    # administrator and review by the city are tested in tests/fleet/replacement.
    ("POST", "/replacement/plans", lambda w: {"org_id": w.ids["city"], "years": 1, "start_year": 2027,
                                              "time_limit_s": 5}, ADMIN_CREATE),
    # computing keeps nothing: a horizon of 0 years is refused (422) past the role check
    ("POST", "/replacement/plans/compute", lambda w: {"org_id": w.ids["city"], "years": 0}, only("admin", code=422)),
    ("GET", "/replacement/plans", None, only("admin", "auditor")),
    ("GET", "/replacement/plans/{vehicle}", None, only("admin", "auditor", code=404)),
    ("GET", "/replacement/policies/{county}", None, only("admin", "auditor")),
    ("PUT", "/replacement/policies/{county}", lambda w: {"policy": {"nev_share_floor": 0.4}}, ADMIN),
    ("POST", "/replacement/maintenance-costs", lambda w: {"vehicle_id": w.ids["vehicle"], "incurred_on": "2026-06-01",
                                                          "cost_cny": 1200}, ADMIN_CREATE),
    ("GET", "/replacement/maintenance-costs", None, only("admin", "auditor")),
    ("POST", "/replacement/filings", lambda w: {"plan_id": w.ids["vehicle"]}, only("admin", code=404)),
    ("GET", "/replacement/filings", None, only("admin", "auditor")),
    ("GET", "/replacement/filings/{vehicle}", None, only("admin", "auditor", code=404)),
    ("POST", "/replacement/filings/{vehicle}/review", lambda w: {"decision": "approve"}, only("admin", code=404)),
    ("GET", "/replacement/filings/{vehicle}/export", None, only("admin", "auditor", code=404)),
    ("GET", "/replacement/figures", None, only("admin", "auditor")),
    # The statistics report: fleet readers, within their organisation scope.
    ("GET", "/statistics", None, FLEET_READ),
    ("GET", "/statistics.csv", None, FLEET_READ),
    ("GET", "/statistics.xlsx", None, FLEET_READ),
]


def test_matrix_covers_every_api_route(app):
    """A new endpoint must be added to the matrix."""
    covered = {(method, "/api/v1" + path) for method, path, _, _ in CASES}
    public = {"/api/v1/auth/token", "/api/v1/auth/login", "/api/v1/auth/logout"}
    routes = {
        (method.upper(), _normalise(path))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1") and path not in public
        for method in operations
    }
    assert routes == {(m, _normalise(p)) for m, p in covered}


def _normalise(path: str) -> str:
    import re

    return re.sub(r"\{[a-z_]+\}", "{x}", path)


READS = [c for c in CASES if c[0] == "GET"]
WRITES = [c for c in CASES if c[0] != "GET"]
ALLOWED_WRITES = [(m, p, b, e, role) for m, p, b, e in WRITES for role in ROLES if e[role] < 400]


def _call(client, world, method, path, body, role):  # type: ignore[no-untyped-def]
    url = "/api/v1" + path.format(**world.ids)
    headers = {} if role == "anonymous" else world.auth(role)
    response = client.request(method, url, headers=headers, json=body(world) if body else None)
    return url, response


@pytest.mark.slow  # one request per route and role
@pytest.mark.parametrize("method,path,body,expected", READS, ids=[f"{m} {p}" for m, p, _, _ in READS])
def test_reads(client, world, method, path, body, expected):
    """Every role (and no credentials) against one read endpoint: reads change nothing."""
    for role in ROLES + ["anonymous"]:
        url, response = _call(client, world, method, path, body, role)
        want = 401 if role == "anonymous" else expected[role]
        assert response.status_code == want, f"{role} {method} {url}: {response.status_code} {response.text}"


@pytest.mark.slow  # one request per route and role
@pytest.mark.parametrize("method,path,body,expected", WRITES, ids=[f"{m} {p}" for m, p, _, _ in WRITES])
def test_writes_refused(client, world, method, path, body, expected):
    """Roles outside a write get 403, no credentials 401, and the audit log stays empty."""
    for role in [r for r in ROLES if expected[r] == 403] + ["anonymous"]:
        url, response = _call(client, world, method, path, body, role)
        want = 401 if role == "anonymous" else 403
        assert response.status_code == want, f"{role} {method} {url}: {response.status_code} {response.text}"
    audit = client.get("/api/v1/audit-entries", headers=world.auth("admin")).json()
    assert audit["total"] == 0


@pytest.mark.slow  # one request per route and role
@pytest.mark.parametrize("method,path,body,expected,role", ALLOWED_WRITES,
                         ids=[f"{m} {p} {r}" for m, p, _, _, r in ALLOWED_WRITES])
def test_writes_allowed(client, world, method, path, body, expected, role):
    """A role inside a write succeeds, and the change is in the audit log."""
    url, response = _call(client, world, method, path, body, role)
    assert response.status_code == expected[role], f"{role} {method} {url}: {response.status_code} {response.text}"
    audit = client.get("/api/v1/audit-entries", headers=world.auth("admin")).json()
    assert audit["total"] == 1
    assert audit["items"][0]["actor"] == role
