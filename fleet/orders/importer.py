"""All-or-nothing import of past orders: validate an orders document against itself and the
database, then write its trip requests and assignments in the caller's transaction.

Every problem is collected before anything is written, each with its path in the document
(``orders[3].assignment.vehicle_plate: no vehicle with plate 苏G12345``). A confirmed lease
assignment on a leased car hires that car around its trip (:mod:`fleet.hire_windows`), and
every car of an imported assignment is marked for re-evaluation over the trip's span
(``ingest_dirty``), so `fleet ingest` judges positions already stored against the orders;
positions replayed afterwards (`fleet replay`) are judged against them at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from fleet import audit
from fleet.fleet_document.errors import DocumentError, FleetImportError, from_validation_error
from fleet.fleet_document.validate import document_sha256
from fleet.fleet_document.write import AUDIT_ID_HEX_DIGITS
from fleet.hire_windows import sync_assignment_windows
from fleet.models import (
    Assignment,
    AssignmentKind,
    Driver,
    Lessor,
    Organisation,
    Ownership,
    RequestState,
    TripRequest,
    TripRequestCreate,
    User,
    Vehicle,
    utcnow,
)
from fleet.models.device import IngestDirtyWindow
from fleet.orders.document import FORMAT, OrderRecord, OrdersDocument

WHAT = "orders document"
#: States a request with an assignment can be in.
ASSIGNED_STATES = frozenset({RequestState.planned, RequestState.assigned, RequestState.in_progress,
                             RequestState.completed, RequestState.cancelled})
#: States that say the request was served, so it needs its assignment.
SERVED_STATES = frozenset({RequestState.assigned, RequestState.in_progress, RequestState.completed})


def read_document(path: Path | None, text: str | None = None) -> Any:
    """The parsed document in ``path`` (``.json`` as JSON, anything else as YAML, which also
    reads JSON), or in ``text`` (standard input) as YAML; raises
    :class:`~fleet.fleet_document.errors.FleetImportError` saying where it does not parse."""
    import yaml

    name = str(path) if path is not None else "stdin"
    try:
        text = path.read_text(encoding="utf-8") if path is not None else text or ""
    except OSError as exc:
        raise FleetImportError([DocumentError("$", f"cannot read {name}: {exc.strerror}")], WHAT) from exc
    try:
        if path is not None and path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        reason = f"not valid YAML: {where}{getattr(exc, 'problem', None) or exc}"
    raise FleetImportError([DocumentError("$", reason)], WHAT)


@dataclass
class _Keys:
    """The natural keys the document may name, and their ids in the database."""

    orgs: dict[str, int]
    users: dict[str, int]
    vehicles: dict[str, Vehicle]
    lessors: dict[str, list[int]] = field(default_factory=dict)
    drivers: dict[str, list[Driver]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> _Keys:
        keys = cls(orgs=dict(session.exec(select(Organisation.code, Organisation.id)).all()),
                   users=dict(session.exec(select(User.username, User.id)).all()),
                   vehicles={v.plate: v for v in session.exec(select(Vehicle)).all()})
        for lessor_id, name in session.exec(select(Lessor.id, Lessor.name)):
            keys.lessors.setdefault(name, []).append(lessor_id)
        for driver in session.exec(select(Driver)).all():
            keys.drivers.setdefault(driver.name, []).append(driver)
        return keys


@dataclass
class _Order:
    """A checked order: the record and the ids its references stand for."""

    record: Any
    agency_id: int
    requester_id: int
    rider_id: int | None = None
    vehicle_id: int | None = None
    driver_id: int | None = None
    lessor_id: int | None = None


class _Checker:
    def __init__(self, keys: _Keys, errors: list[DocumentError]) -> None:
        self.keys = keys
        self.errors = errors

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(DocumentError(path, reason))

    def order(self, path: str, record: Any) -> _Order:
        k = self.keys
        agency_id, requester_id = k.orgs.get(record.agency), k.users.get(record.requester)
        if agency_id is None:
            self.fail(f"{path}.agency", f"no organisation with code {record.agency}")
        if requester_id is None:
            self.fail(f"{path}.requester", f"no user named {record.requester}")
        if record.rider is not None and record.rider not in k.users:
            self.fail(f"{path}.rider", f"no user named {record.rider}")
        payload = record.model_dump(exclude={"agency", "requester", "rider", "state", "state_reason", "assignment"})
        try:
            TripRequestCreate.model_validate(payload | {"agency_id": 0})
        except ValidationError as exc:
            self.errors.extend(from_validation_error(path, exc))
        state = RequestState(record.state)
        if record.assignment is None:
            if state in SERVED_STATES:
                self.fail(f"{path}.assignment", f"required for a request in state {state.value}")
            order = _Order(record, agency_id or 0, requester_id or 0)
        else:
            if state not in ASSIGNED_STATES:
                self.fail(f"{path}.state", "a request with an assignment is planned, assigned, in_progress, "
                                           f"completed or cancelled, not {state.value}")
            order = self.assignment(f"{path}.assignment", record, agency_id or 0, requester_id or 0)
        order.rider_id = k.users.get(record.rider) if record.rider else None
        return order

    def assignment(self, path: str, record: Any, agency_id: int, requester_id: int) -> _Order:
        a, k = record.assignment, self.keys
        order = _Order(record, agency_id, requester_id)
        if a.planned_dropoff <= a.planned_pickup:
            self.fail(f"{path}.planned_dropoff", "must be after planned_pickup")
        car = k.vehicles.get(a.vehicle_plate) if a.vehicle_plate else None
        if a.vehicle_plate and car is None:
            self.fail(f"{path}.vehicle_plate", f"no vehicle with plate {a.vehicle_plate}")
        order.vehicle_id = car.id if car else None
        if a.kind == AssignmentKind.pool:
            if a.vehicle_plate is None:
                self.fail(f"{path}.vehicle_plate", "required for a pool assignment")
            elif car is not None and car.ownership != Ownership.pool:
                self.fail(f"{path}.vehicle_plate", f"{car.plate} is a leased car; a pool assignment needs a pool car")
            if a.lessor is not None:
                self.fail(f"{path}.lessor", "a pool assignment has no lessor")
            order.driver_id = self.driver(path, a)
            return order
        if a.driver is not None:
            self.fail(f"{path}.driver", "a lease assignment has no pool driver")
        if car is not None and car.ownership != Ownership.leased:
            self.fail(f"{path}.vehicle_plate", f"{car.plate} is a pool car; a lease assignment needs a leased car")
        order.lessor_id = self.lessor(path, a, car)
        return order

    def driver(self, path: str, a: Any) -> int | None:
        if a.driver is None:
            self.fail(f"{path}.driver", "required for a pool assignment")
            return None
        named = [d for d in self.keys.drivers.get(a.driver, []) if a.driver_phone in (None, d.phone)]
        if not named:
            self.fail(f"{path}.driver", f"no driver named {a.driver}"
                      + (f" with phone {a.driver_phone}" if a.driver_phone else ""))
            return None
        if len(named) > 1:
            self.fail(f"{path}.driver", f"ambiguous driver {a.driver}: {len(named)} drivers by that name; "
                                        "give driver_phone")
            return None
        return named[0].id

    def lessor(self, path: str, a: Any, car: Vehicle | None) -> int | None:
        if a.lessor is None:
            if car is None or car.lessor_id is None:
                self.fail(f"{path}.lessor", "required for a lease assignment without a leased car")
                return None
            return car.lessor_id
        ids = self.keys.lessors.get(a.lessor, [])
        if len(ids) != 1:
            self.fail(f"{path}.lessor", f"no lessor named {a.lessor}" if not ids
                      else f"ambiguous lessor {a.lessor}: the database has several by that name")
            return None
        if car is not None and car.lessor_id is not None and car.lessor_id != ids[0]:
            self.fail(f"{path}.vehicle_plate", f"{car.plate} is leased from another lessor than {a.lessor}")
        return ids[0]


def validate_orders(data: Any, session: Session) -> list[_Order]:
    """The document's orders, checked against themselves and the database; raises
    :class:`~fleet.fleet_document.errors.FleetImportError` with every problem, writing nothing."""
    errors: list[DocumentError] = []
    if not isinstance(data, Mapping):
        raise FleetImportError([DocumentError("$", "the document must be an object with an orders list")], WHAT)
    for key in data:
        if key not in OrdersDocument.model_fields:
            errors.append(DocumentError(str(key), f"unknown key; expected one of {', '.join(OrdersDocument.model_fields)}"))
    if data.get("format", FORMAT) != FORMAT:
        errors.append(DocumentError("format", f"unsupported format; expected {FORMAT!r}"))
    items = data.get("orders") or []
    if not isinstance(items, list):
        errors.append(DocumentError("orders", "must be a list"))
        items = []
    checker = _Checker(_Keys.load(session), errors)
    orders = []
    for index, item in enumerate(items):
        path = f"orders[{index}]"
        try:
            record = OrderRecord.model_validate(item)
        except ValidationError as exc:
            errors.extend(from_validation_error(path, exc))
            continue
        orders.append(checker.order(path, record))
    if errors:
        raise FleetImportError(errors, WHAT)
    return orders


def import_orders(session: Session, data: Any, *, actor: User | str = "cli") -> dict[str, int]:
    """Validate ``data`` (a parsed orders document) and add its trip requests and assignments
    in the caller's transaction, with one audit entry; the caller commits. Returns the number
    of records added by kind. Raises
    :class:`~fleet.fleet_document.errors.FleetImportError` and writes nothing when invalid."""
    orders = validate_orders(data, session)
    requests = []
    for order in orders:
        fields = order.record.model_dump(exclude={"agency", "requester", "rider", "assignment"})
        requests.append(TripRequest(**fields, agency_id=order.agency_id, requester_id=order.requester_id,
                                    rider_id=order.rider_id))
    session.add_all(requests)
    session.flush()
    assignments = []
    for order, request in zip(orders, requests, strict=True):
        a = order.record.assignment
        if a is not None:
            assignments.append(Assignment(
                request_id=request.id, org_id=order.agency_id, kind=a.kind, vehicle_id=order.vehicle_id,
                driver_id=order.driver_id, lessor_id=order.lessor_id, planned_pickup=a.planned_pickup,
                planned_dropoff=a.planned_dropoff, cost_cny=a.cost_cny, explanation=a.explanation,
                confirmed=a.confirmed))
    session.add_all(assignments)
    session.flush()
    hires = sync_assignment_windows(session, [a.id for a in assignments if a.kind == AssignmentKind.lease])
    now = utcnow()
    session.add_all(IngestDirtyWindow(vehicle_id=a.vehicle_id, start_at=a.planned_pickup,
                                      end_at=a.planned_dropoff, marked_at=now)
                    for a in assignments if a.vehicle_id is not None)
    counts = {"trip_requests": len(requests), "assignments": len(assignments), "hire_windows": len(hires)}
    sha256 = document_sha256(data)
    audit.record(session, actor, "orders.import", "orders_document", sha256[:AUDIT_ID_HEX_DIGITS],
                 after={"format": FORMAT, "sha256": sha256, "counts": counts,
                        "trip_request_ids": [r.id for r in requests]})
    session.flush()
    return counts
