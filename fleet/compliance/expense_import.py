"""Import fuel-card, charging and repair records from CSV, all rows or none, then cross-check
each record against the fleet and raise one ``expense.mismatch`` alert per flagged record.

CSV columns (UTF-8, a byte-order mark is fine; times ISO-8601, without an offset they are read
in the display time zone):

- fuel: ``plate, occurred_at, station, station_lat, station_lon, litres, amount_cny`` and
  optionally ``odometer_km, card_no``;
- charging: the same with ``kwh`` instead of ``litres``;
- repair: ``plate, occurred_at, workshop, amount_cny, description`` and optionally
  ``odometer_km``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet import audit
from fleet.compliance import expense_rules as rules
from fleet.geo import distance_m
from fleet.models import (
    Alert,
    AlertSeverity,
    Organisation,
    Position,
    Trip,
    User,
    Vehicle,
)
from fleet.models.compliance import ExpenseImport, ExpenseKind, ExpenseRecord
from fleet.models.vehicle import PLATE_PATTERN
from fleet.settings import get_settings

MAX_ROWS = 50_000
MAX_ERRORS_REPORTED = 200


class ExpenseImportError(ValueError):
    """The file was refused; ``errors`` lists every problem as ``row N, column: rule``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was imported")
        self.errors = errors


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    plate: str = Field(pattern=PLATE_PATTERN, max_length=12)
    occurred_at: datetime
    amount_cny: float = Field(ge=0, le=1_000_000)
    odometer_km: float | None = Field(None, ge=0, le=2_000_000)

    @field_validator("odometer_km", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=get_settings().tz)
        return value


class _StationRow(_Row):
    station: str = Field(min_length=1, max_length=200)
    station_lat: float = Field(ge=-90, le=90)
    station_lon: float = Field(ge=-180, le=180)
    card_no: str | None = Field(None, max_length=40)

    @field_validator("card_no", mode="before")
    @classmethod
    def _blank_card(cls, value: Any) -> Any:
        return None if value == "" else value


class FuelRow(_StationRow):
    litres: float = Field(gt=0, le=1000)


class ChargingRow(_StationRow):
    kwh: float = Field(gt=0, le=1000)


class RepairRow(_Row):
    workshop: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=500)


ROW_MODELS: dict[ExpenseKind, type[_Row]] = {
    ExpenseKind.fuel: FuelRow, ExpenseKind.charging: ChargingRow, ExpenseKind.repair: RepairRow,
}


def required_columns(kind: ExpenseKind) -> list[str]:
    model = ROW_MODELS[kind]
    return [name for name, info in model.model_fields.items() if info.is_required()]


@dataclass
class ImportResult:
    """What an import wrote: the import row, its records and the alerts raised."""

    expense_import: ExpenseImport
    records: list[ExpenseRecord]
    alerts: list[Alert] = field(default_factory=list)

    @property
    def flagged(self) -> list[ExpenseRecord]:
        return [r for r in self.records if r.findings]

    def as_json(self) -> dict[str, Any]:
        return {
            "import_id": self.expense_import.id,
            "kind": self.expense_import.kind.value,
            "rows": len(self.records),
            "flagged": [
                {"row": r.row_number, "plate": r.plate, "alert_id": r.alert_id,
                 "findings": [f["check"] for f in r.findings]}
                for r in self.flagged
            ],
        }


def import_expenses(
    session: Session,
    kind: ExpenseKind,
    text: str,
    filename: str,
    actor: User | str,
    org_id: int | None = None,
    thresholds: rules.ExpenseThresholds | None = None,
) -> ImportResult:
    """Validate every row, write them all, cross-check them and raise alerts, in the caller's
    transaction (nothing is written when any row is bad). ``org_id`` limits the plates to cars
    of that organisation's subtree (None: the whole fleet)."""
    thresholds = thresholds or rules.ExpenseThresholds()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    rows = _parse(kind, text)
    vehicles = _vehicles_by_plate(session, {row.plate for _, row in rows})
    _check_rows(session, kind, rows, vehicles, digest, org_id)

    expense_import = ExpenseImport(kind=kind, filename=filename[:200], sha256=digest, org_id=org_id,
                                   row_count=len(rows), imported_by=_name(actor))
    session.add(expense_import)
    session.flush()
    records = [_record(expense_import.id, kind, number, row, vehicles.get(row.plate)) for number, row in rows]
    session.add_all(records)
    session.flush()

    result = ImportResult(expense_import, records)
    checker = _CrossChecker(session, thresholds)
    for record in sorted(records, key=lambda r: r.occurred_at):
        record.findings = checker.findings(record, vehicles.get(record.plate))
        if record.findings:
            alert = checker.alert_for(record, vehicles)
            if alert is not None:
                result.alerts.append(alert)
                record.alert_id = alert.id
        session.add(record)
    expense_import.flagged_count = len(result.flagged)
    session.add(expense_import)
    session.flush()
    audit.record(session, actor, "expense.import", "expense_import", expense_import.id, None, {
        "kind": kind.value, "filename": expense_import.filename, "sha256": digest, "rows": len(records),
        "flagged": expense_import.flagged_count, "alert_ids": [a.id for a in result.alerts],
        "rule_version": rules.EXPENSE_RULE_VERSION,
    })
    return result


def _name(actor: User | str) -> str:
    return actor.username if isinstance(actor, User) else actor


def _parse(kind: ExpenseKind, text: str) -> list[tuple[int, _Row]]:
    """Rows validated against the kind's columns; raises with every bad row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required_columns(kind) if c not in header]
    if missing:
        raise ExpenseImportError([f"header: missing column(s) {', '.join(missing)} for {kind.value} records"])
    reader.fieldnames = header
    model = ROW_MODELS[kind]
    rows: list[tuple[int, _Row]] = []
    errors: list[str] = []
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise ExpenseImportError([f"file: more than {MAX_ROWS} rows; split it"])
        if None in raw:
            errors.append(f"row {number}: more values than columns")
            continue
        try:
            rows.append((number, model.model_validate({k: (v or "").strip() for k, v in raw.items()})))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                column = ".".join(str(p) for p in error["loc"]) or "row"
                errors.append(f"row {number}, {column}: {error['msg']}")
    if not rows and not errors:
        errors.append("file: no records after the header")
    if errors:
        raise ExpenseImportError(errors[:MAX_ERRORS_REPORTED])
    return rows


def _vehicles_by_plate(session: Session, plates: set[str]) -> dict[str, Vehicle]:
    if not plates:
        return {}
    return {v.plate: v for v in session.exec(select(Vehicle).where(col(Vehicle.plate).in_(plates)))}


def _check_rows(session: Session, kind: ExpenseKind, rows: list[tuple[int, _Row]],
                vehicles: dict[str, Vehicle], digest: str, org_id: int | None) -> None:
    """File-level rules: not imported before, no duplicate records, plates in scope."""
    errors: list[str] = []
    earlier = session.exec(select(ExpenseImport.id).where(ExpenseImport.sha256 == digest)).first()
    if earlier is not None:
        raise ExpenseImportError([f"file: the same file was already imported (import {earlier})"])
    seen: dict[tuple[str, datetime], int] = {}
    for number, row in rows:
        key = (row.plate, row.occurred_at.astimezone(UTC))
        if key in seen:
            errors.append(f"row {number}, occurred_at: duplicate of row {seen[key]} (same plate and time)")
        seen.setdefault(key, number)
        stored = session.exec(select(ExpenseRecord.import_id).where(
            ExpenseRecord.kind == kind, ExpenseRecord.plate == row.plate,
            ExpenseRecord.occurred_at == row.occurred_at)).first()
        if stored is not None:
            errors.append(f"row {number}, occurred_at: this record was already imported (import {stored})")
    if org_id is not None:
        org = session.get(Organisation, org_id)
        prefix = org.path if org else "/nowhere/"
        paths = {o.id: o.path for o in session.exec(select(Organisation))}
        for number, row in rows:
            vehicle = vehicles.get(row.plate)
            if vehicle is not None and not paths.get(vehicle.org_id, "").startswith(prefix):
                errors.append(f"row {number}, plate: {row.plate} belongs outside your organisation's scope")
    if errors:
        raise ExpenseImportError(errors[:MAX_ERRORS_REPORTED])


def _record(import_id: int, kind: ExpenseKind, number: int, row: _Row, vehicle: Vehicle | None) -> ExpenseRecord:
    values: dict[str, Any] = {
        "import_id": import_id, "row_number": number, "kind": kind, "plate": row.plate,
        "vehicle_id": vehicle.id if vehicle else None, "occurred_at": row.occurred_at,
        "amount_cny": row.amount_cny, "odometer_km": row.odometer_km,
    }
    if isinstance(row, _StationRow):
        values |= {"place": row.station, "place_lat": row.station_lat, "place_lon": row.station_lon,
                   "card_no": row.card_no}
    if isinstance(row, FuelRow):
        values["fuel_l"] = row.litres
    if isinstance(row, ChargingRow):
        values["energy_kwh"] = row.kwh
    if isinstance(row, RepairRow):
        values |= {"place": row.workshop, "description": row.description}
    return ExpenseRecord(**values)


class _CrossChecker:
    """Runs the expense rules for one record at a time against the database."""

    def __init__(self, session: Session, thresholds: rules.ExpenseThresholds) -> None:
        self.session = session
        self.t = thresholds

    def findings(self, record: ExpenseRecord, vehicle: Vehicle | None) -> list[rules.Finding]:
        if vehicle is None:
            card_vehicle = self._card_vehicle(record)
            return [rules.unknown_plate(record.plate, card_vehicle.plate if card_vehicle else None)]
        car = rules.VehicleFacts(vehicle.id, vehicle.plate, str(vehicle.vehicle_class.value), vehicle.energy.value,
                                 vehicle.status.value, vehicle.battery_range_km, vehicle.gps_device_id is not None)
        kind = record.kind.value
        if kind == ExpenseKind.repair.value:
            found = [rules.check_repair_retired(car)]
        else:
            amount = record.fuel_l if kind == ExpenseKind.fuel.value else record.energy_kwh
            found = [
                rules.check_energy_type(kind, car),
                rules.check_station_distance(self._nearest_gps_km(record), self.t),
                rules.check_volume_vs_tank(kind, amount, car, self.t),
                rules.check_volume_vs_distance(kind, amount, self._distance_since_last_fill(record, car), car, self.t),
            ]
        return [f for f in found if f is not None]

    def _nearest_gps_km(self, record: ExpenseRecord) -> float | None:
        """Distance from the station to the closest GPS fix within the time window, km."""
        if record.place_lat is None or record.place_lon is None:
            return None
        window = timedelta(minutes=self.t.gps_window_min)
        fixes = self.session.exec(select(Position.lat, Position.lon).where(
            Position.vehicle_id == record.vehicle_id,
            col(Position.ts) >= record.occurred_at - window, col(Position.ts) <= record.occurred_at + window)).all()
        if not fixes:
            return None
        return min(distance_m(record.place_lat, record.place_lon, lat, lon) for lat, lon in fixes) / 1000

    def _distance_since_last_fill(self, record: ExpenseRecord, car: rules.VehicleFacts) -> float | None:
        """km driven since the car's previous record of the same kind: the odometer difference
        when both carry one, else the GPS trips' distance (cars with a GPS device only)."""
        previous = self.session.exec(
            select(ExpenseRecord).where(
                ExpenseRecord.vehicle_id == record.vehicle_id, ExpenseRecord.kind == record.kind,
                col(ExpenseRecord.occurred_at) < record.occurred_at,
            ).order_by(col(ExpenseRecord.occurred_at).desc()).limit(1)
        ).first()
        if previous is None:
            return None
        if previous.odometer_km is not None and record.odometer_km is not None:
            return max(record.odometer_km - previous.odometer_km, 0.0)
        if not car.has_gps:
            return None
        driven = self.session.exec(select(func.coalesce(func.sum(Trip.distance_km), 0.0)).where(
            Trip.vehicle_id == record.vehicle_id, col(Trip.started_at) >= previous.occurred_at,
            col(Trip.started_at) < record.occurred_at)).one()
        return float(driven)

    def _card_vehicle(self, record: ExpenseRecord) -> Vehicle | None:
        """The fleet car a fuel or charging card belongs to, from its other records."""
        if not record.card_no:
            return None
        vehicle_id = self.session.exec(select(ExpenseRecord.vehicle_id).where(
            ExpenseRecord.card_no == record.card_no, col(ExpenseRecord.vehicle_id).is_not(None),
        ).order_by(col(ExpenseRecord.occurred_at).desc()).limit(1)).first()
        return self.session.get(Vehicle, vehicle_id) if vehicle_id else None

    def alert_for(self, record: ExpenseRecord, vehicles: dict[str, Vehicle]) -> Alert | None:
        """An ``expense.mismatch`` alert on the record's car (or the car whose card paid);
        None when no fleet car is involved."""
        vehicle = vehicles.get(record.plate) or self._card_vehicle(record)
        if vehicle is None:
            return None
        alert = Alert(
            kind=rules.ALERT_KIND, vehicle_id=vehicle.id, started_at=record.occurred_at,
            ended_at=record.occurred_at, lat=record.place_lat, lon=record.place_lon,
            severity=AlertSeverity.warning,
            evidence={"expense_id": record.id, "import_id": record.import_id, "expense_kind": record.kind.value,
                      "plate": record.plate, "place": record.place, "amount_cny": record.amount_cny,
                      "fuel_l": record.fuel_l, "energy_kwh": record.energy_kwh, "findings": record.findings},
            rule_version=rules.EXPENSE_RULE_VERSION, thresholds=self.t.as_json(),
        )
        self.session.add(alert)
        self.session.flush()
        return alert
