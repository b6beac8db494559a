"""A matrix of hostile inputs against every JSON endpoint of the OpenAPI schema, for every
role (and for no login), sent to `fleet serve` running in its own process:
non-finite and out-of-range numbers, wrong types, huge and deeply nested bodies, formula
strings, path tricks, wildcards and broken text, in bodies, path parameters and queries.

Every answer must be below 500 and come within ``SLOWEST_ANSWER_S`` (plus the solver time an
otherwise valid request asks for), and ``/livez``, probed from a thread the whole time, must
answer within ``SLOWEST_LIVEZ_S``. The administrator, who reaches every write path, gets
every hostile value in every field; the other roles get a rotating few per field."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from fleet.models import Role
from tests.web.conftest import SQUARE, World
from tests.web.served import fleet_server, timing_livez

pytestmark = pytest.mark.slow

SLOWEST_ANSWER_S = 1.0
SLOWEST_LIVEZ_S = 0.2
#: Solver time asked for by otherwise valid plan requests, seconds.
SOLVER_TIME_S = 0.5
#: The server's default request body limit, bytes.
BODY_LIMIT_BYTES = 4 * 1024 * 1024
VALUES_PER_FIELD_FOR_OTHER_ROLES = 2
#: Time allowed for hashing a password a request sets (argon2, 64 MiB), seconds.
PASSWORD_HASH_S = 1.0
ROLES = ["admin", *(r.value for r in Role if r != Role.admin), "other_requester", "anonymous"]


def _s(text: str) -> str:
    return json.dumps(text)


#: Hostile JSON values (as JSON source text, so that NaN and Infinity can be written).
FIELD_VALUES = [
    "NaN", "Infinity", "-1e999", "1e308", "9" * 40, "-9223372036854775809",
    '"12"', '"text"', "true", "null", "[]", "{}", '[[[["deep"]]]]',
    _s("x" * 100_000), _s("🚗" * 2000), '"\\u0000"', '"\\ud800"',
    _s('=HYPERLINK("http://evil.example","x")'), _s("+cmd|' /C calc'!A0"), _s("@SUM(1+1)*cmd|'/C calc'!A0"),
    _s("../../../../etc/passwd"), _s("..\\..\\windows\\win.ini"), _s("%"), _s("' OR '1'='1"), _s(".*"),
    _s("9999-12-31T23:59:59Z"), _s("2026-02-30"),
]
#: Whole bodies that are hostile in themselves.
BODIES = {
    "array": "[]", "string": '"x"', "null": "null", "number": "NaN", "empty object": "{}",
    "broken": '{"a": ', "duplicate keys": '{"a": 1, "a": 2}', "nested 40": "[" * 40 + "]" * 40,
    "nested 100000": "[" * 100_000, "object nested 40": '{"a": ' * 40 + "1" + "}" * 40,
}
PATH_VALUES = ["0", "-1", "99999999999999999999", "nan", "1.5", "%2e%2e%2f", "*", "%00", "1e3"]
QUERY_VALUES = ["nan", "inf", "-1", "99999999999999999999", "%", "*", "' OR 1=1--", "../../etc/passwd",
                "x" * 4000, "=cmd|' /C calc'!A0", "\x00", "9999-12-31T23:59:59Z"]

#: World ids for fields and path segments, by name.
ID_FOR_FIELD = {
    "agency_id": "agency", "org_id": "city", "parent_id": "city", "vehicle_id": "vehicle", "driver_id": "driver",
    "request_id": "draft_request", "lessor_id": "lessor", "depot_id": "depot", "home_depot_id": "depot",
    "parking_site_id": "parking_site", "user_id": "user_driver", "reviewer_id": "user_auditor",
}
ID_FOR_COLLECTION = {
    "organisations": "county", "users": "user_requester", "depots": "depot", "parking-sites": "parking_site",
    "zones": "zone", "speed-zones": "speed_zone", "vehicles": "vehicle", "drivers": "driver", "lessors": "lessor",
    "trip-requests": "draft_request", "assignments": "assignment", "trips": "trip", "alerts": "alert",
    "policies": "city", "vehicles/map": "vehicle",
}
NAMED_STRINGS = {
    "plate": "苏G5E321", "vin": "LSVAA4180E2000099", "phone": "13800000001", "username": "matrix_user",
    "password": "matrix-password-0123", "csv": "plate,amount_cny\n苏G12345,100\n", "code": "320700-MX",
}


@dataclass
class Finding:
    role: str
    what: str
    status: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.role}: {self.what} -> {self.status} in {self.seconds:.2f} s"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _example(schema: dict[str, Any], node: dict[str, Any], name: str, world: World) -> Any:
    """A plausible valid value for a property, so that one hostile field at a time reaches
    past validation of the others."""
    node = _resolve(schema, node)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            options = [o for o in node[key] if _resolve(schema, o).get("type") != "null"]
            return _example(schema, options[0], name, world) if options else None
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    late = any(word in name for word in ("latest", "until", "dropoff", "end", "return"))
    kind = node.get("type")
    if kind == "integer":
        if name in ID_FOR_FIELD:
            return world.ids[ID_FOR_FIELD[name]]
        return node.get("minimum", node.get("exclusiveMinimum", 0) + 1)
    if kind == "number":
        if name.endswith("lat"):
            return 34.6
        if name.endswith("lon"):
            return 119.2
        if name == "time_limit_s":
            return max(SOLVER_TIME_S, node.get("minimum", 0))
        low = node.get("minimum", node.get("exclusiveMinimum", 0))
        return min(low + 1, node.get("maximum", low + 1))
    if kind == "boolean":
        return False
    if kind == "array":
        return [_example(schema, node.get("items", {}), name, world) for _ in range(node.get("minItems", 0))]
    if kind == "object" or "properties" in node:
        if "geometry" in name:
            return SQUARE
        return {k: _example(schema, v, k, world) for k, v in node.get("properties", {}).items()
                if k in node.get("required", []) or k == "time_limit_s"}
    formats = {"date-time": "2026-12-01T05:00:00Z" if late else "2026-12-01T02:00:00Z",
               "date": "2027-06-30" if late else "2026-12-01", "time": "18:00:00" if late else "08:00:00"}
    if node.get("format") in formats:
        return formats[node["format"]]
    return NAMED_STRINGS.get(name, "matrix")


def _path_with_ids(path: str, world: World) -> str:
    collection = path.removeprefix("/api/v1/").split("/{", 1)[0]
    key = ID_FOR_COLLECTION.get(collection.rsplit("/", 1)[-1], "vehicle")
    return re.sub(r"\{[^}]+\}", str(world.ids[key]), path)


@dataclass
class Operation:
    method: str
    path: str
    url: str
    body_schema: dict[str, Any] | None
    query: list[str]


def _operations(schema: dict[str, Any], world: World) -> list[Operation]:
    found = []
    for path, item in schema["paths"].items():
        for method, spec in item.items():
            body = spec.get("requestBody", {}).get("content", {}).get("application/json")
            query = [p["name"] for p in spec.get("parameters", []) if p["in"] == "query"]
            found.append(Operation(method.upper(), path, _path_with_ids(path, world),
                                   _resolve(schema, body["schema"]) if body else None, query))
    return found


@dataclass(frozen=True)
class Probe:
    """One request of the matrix."""

    role: str
    method: str
    url: str
    body: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"

    @property
    def allowed_s(self) -> float:
        """``SLOWEST_ANSWER_S``, plus the solver time a plan request asks for and the hashing
        of a password it sets (work the caller asked for, not a stall)."""
        try:
            body = json.loads(self.body or "null")
        except (ValueError, RecursionError):
            return SLOWEST_ANSWER_S
        if not isinstance(body, dict):
            return SLOWEST_ANSWER_S
        try:
            solver_s = float(body.get("time_limit_s", 0)) if "plans" in self.url else 0.0
        except (TypeError, ValueError):
            solver_s = 0.0
        solver_s = min(max(solver_s, 0.0), 120.0) if math.isfinite(solver_s) else 0.0
        hashing_s = PASSWORD_HASH_S if isinstance(body.get("password"), str) else 0.0
        return SLOWEST_ANSWER_S + solver_s + hashing_s


class Matrix:
    """Sends the probes one after another and keeps what went wrong."""

    def __init__(self, http: httpx.Client, world: World) -> None:
        self.http = http
        self.world = world
        self.findings: list[Finding] = []
        self.sent = 0

    def send(self, probe: Probe) -> int:
        """Send ``probe``; its status code."""
        headers = {} if probe.role == "anonymous" else self.world.auth(probe.role)
        if probe.body is not None:
            headers["content-type"] = probe.content_type
        r = self.http.request(probe.method, probe.url, content=probe.body, params=dict(probe.params), headers=headers)
        self.sent += 1
        seconds = r.elapsed.total_seconds()
        if r.status_code >= 500 or seconds > probe.allowed_s:
            shown = (probe.body or json.dumps(probe.params))[:160]
            self.findings.append(Finding(probe.role, f"{probe.method} {probe.url} {shown}", r.status_code, seconds))
        return r.status_code


def _field_bodies(base: dict[str, Any], fields: list[str], role_index: int, every_value: bool) -> list[str]:
    """The baseline body with one field at a time replaced by hostile values."""
    bodies = []
    for field_index, field in enumerate(fields):
        if every_value:
            chosen = FIELD_VALUES
        else:
            start = (field_index + role_index) * VALUES_PER_FIELD_FOR_OTHER_ROLES
            chosen = [FIELD_VALUES[(start + k) % len(FIELD_VALUES)] for k in range(VALUES_PER_FIELD_FOR_OTHER_ROLES)]
        rest = json.dumps({k: v for k, v in base.items() if k != field})
        bodies.extend(f'{{"{field}": {value}' + (", " + rest[1:] if rest != "{}" else "}") for value in chosen)
    return bodies


def _query_params(op: Operation, role_index: int, every_value: bool) -> list[tuple[tuple[str, str], ...]]:
    params = []
    for index, name in enumerate(op.query):
        chosen = QUERY_VALUES if every_value else [QUERY_VALUES[(index + role_index) % len(QUERY_VALUES)]]
        params.extend(((name, value),) for value in chosen)
    return params


def _run_operation(matrix: Matrix, schema: dict[str, Any], op: Operation, role_index: int, role: str) -> None:
    """The whole-body probes, then (unless the role is refused the operation outright) one
    hostile field, query value or path parameter at a time. The administrator gets every
    hostile value, a huge body and path tricks; other roles a rotating few."""
    every_value = role == "admin"
    base = _example(schema, op.body_schema, "", matrix.world) if op.body_schema is not None else None
    base_body = json.dumps(base) if base is not None else None
    refused = matrix.send(Probe(role, op.method, op.url, base_body)) in (401, 403)
    if op.body_schema is not None:
        for body in BODIES.values():
            matrix.send(Probe(role, op.method, op.url, body))
        matrix.send(Probe(role, op.method, op.url, "x=1", content_type="text/plain"))
    if refused and not every_value:
        return
    if base is not None and op.body_schema is not None:
        for body in _field_bodies(base, list(op.body_schema.get("properties", {})), role_index, every_value):
            matrix.send(Probe(role, op.method, op.url, body))
    for params in _query_params(op, role_index, every_value):
        matrix.send(Probe(role, op.method, op.url, base_body, params))
    if every_value:
        for value in PATH_VALUES if "{" in op.path else []:
            matrix.send(Probe(role, op.method, re.sub(r"\{[^}]+\}", value, op.path), base_body))
        if op.body_schema is not None:
            matrix.send(Probe(role, op.method, op.url, '{"a": "' + "x" * BODY_LIMIT_BYTES + '"}'))


def test_hostile_inputs_never_break_or_stall_the_server(world: World, tmp_path):
    with fleet_server(tmp_path / "serve.log") as served, httpx.Client(base_url=served.url, timeout=60) as http:
        schema = http.get("/openapi.json").json()
        operations = _operations(schema, world)
        warm_up = http.post("/api/v1/dispatch/plans", json={"service_date": "2026-12-02", "time_limit_s": SOLVER_TIME_S},
                            headers=world.auth("admin"))
        assert warm_up.status_code == 201, warm_up.text  # the solver process is started before the clock runs
        matrix = Matrix(http, world)
        with timing_livez(served.url) as livez:
            for role_index, role in enumerate(ROLES):
                for op in operations:
                    _run_operation(matrix, schema, op, role_index, role)
        log = served.log_text()
    problems = [str(f) for f in matrix.findings[:60]]
    if livez.slowest_s >= SLOWEST_LIVEZ_S:
        problems.append(f"/livez took {livez.slowest_s:.3f} s")
    assert len(operations) >= 60 and matrix.sent > 5000, (len(operations), matrix.sent)
    assert not problems, "\n".join(problems)
    assert "$argon2" not in log and world.tokens["admin"] not in log
