"""Write a validated fleet document in the caller's transaction, with one audit entry."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, SQLModel

from fleet import audit
from fleet.fleet_document.schema import FORMAT, FleetDocument
from fleet.fleet_document.validate import (
    ID_FIELDS,
    ValidatedDocument,
    validate_document,
)
from fleet.models import Depot, Driver, HireWindow, Lessor, LessorTariff, Organisation, ParkingSite, User, Vehicle, Zone
from fleet.models.common import OrgLevel
from fleet.security import hash_password

#: Parents come before children: each level only hangs under levels earlier in this list.
LEVEL_ORDER = (OrgLevel.city, OrgLevel.county, OrgLevel.township, OrgLevel.agency)
#: The audit entry names the document by the start of its SHA-256 (the full hash is in ``after``).
AUDIT_ID_HEX_DIGITS = 16


def import_fleet(session: Session, data: Any, *, actor: User | str = "cli") -> dict[str, int]:
    """Validate ``data`` (parsed JSON or a :class:`FleetDocument`) and add it to the
    database in the caller's transaction; the caller commits.

    Raises :class:`~fleet.fleet_document.errors.FleetImportError` with every problem and
    writes nothing when the document is invalid. Returns the number of records added by kind.
    """
    return write_document(session, validate_document(data, session), actor=actor)


def write_document(session: Session, validated: ValidatedDocument, *, actor: User | str = "cli") -> dict[str, int]:
    """Insert a validated document (bulk, one flush per kind) and append one audit entry.

    Returns the number of records added by kind.
    """
    writer = _Writer(session, validated)
    counts = writer.write(validated.document)
    audit.record(
        session,
        actor,
        "import",
        "fleet_document",
        validated.sha256[:AUDIT_ID_HEX_DIGITS],
        after={"format": FORMAT, "sha256": validated.sha256, "counts": counts},
    )
    return counts


class _Writer:
    def __init__(self, session: Session, validated: ValidatedDocument) -> None:
        known = validated.existing
        self.session = session
        self.orgs: dict[str, tuple[int, str]] = {code: (org.id, org.path) for code, org in known.organisations.items()}
        self.ids: dict[str, dict[str, int]] = {
            "lessor": {name: ids[0] for name, ids in known.lessors.items()},
            "home_depot": {name: ids[0] for name, ids in known.depots.items()},
            "parking_site": {name: ids[0] for name, ids in known.parking_sites.items()},
            "user": {name: id_ for name, (id_, _) in known.users.items()},
        }
        self.ids["depot"] = self.ids["home_depot"]

    def write(self, doc: FleetDocument) -> dict[str, int]:
        counts = {"organisations": self._organisations(doc.organisations)}
        lessors = self._add(Lessor, doc.lessors, exclude={"tariffs"})
        self.ids["lessor"].update((row.name, row.id) for row in lessors)
        tariffs = [
            LessorTariff(**tariff.model_dump(), lessor_id=row.id)
            for row, record in zip(lessors, doc.lessors, strict=True)
            for tariff in record.tariffs
        ]
        self.session.add_all(tariffs)
        counts |= {"lessors": len(lessors), "lessor_tariffs": len(tariffs)}
        depots = self._add(
            Depot,
            [f.properties for f in doc.depots.features],
            extra=[{"lon": f.geometry.coordinates[0], "lat": f.geometry.coordinates[1]} for f in doc.depots.features],
        )
        self.ids["home_depot"].update((row.name, row.id) for row in depots)
        sites = self._add(
            ParkingSite,
            [f.properties for f in doc.parking_sites.features],
            extra=[{"geometry": f.geometry} for f in doc.parking_sites.features],
        )
        self.ids["parking_site"].update((row.name, row.id) for row in sites)
        zones = self._add(
            Zone,
            [f.properties for f in doc.zones.features],
            extra=[{"geometry": f.geometry} for f in doc.zones.features],
        )
        users = self._add(
            User,
            doc.users,
            exclude={"password"},
            extra=[{"password_hash": u.password_hash or hash_password(u.password)} for u in doc.users],
        )
        self.ids["user"].update((row.username, row.id) for row in users)
        drivers = self._add(Driver, doc.drivers)
        vehicles = self._add(Vehicle, doc.vehicles, exclude={"hire_windows"})
        windows = [HireWindow(vehicle_id=row.id, **window.model_dump())
                   for row, record in zip(vehicles, doc.vehicles, strict=True) for window in record.hire_windows]
        self.session.add_all(windows)
        self.session.flush()
        return counts | {
            "depots": len(depots),
            "parking_sites": len(sites),
            "zones": len(zones),
            "users": len(users),
            "drivers": len(drivers),
            "vehicles": len(vehicles),
            "hire_windows": len(windows),
        }

    def _organisations(self, records: list[Any]) -> int:
        for level in LEVEL_ORDER:
            batch = [record for record in records if record.level == level]
            rows = [
                Organisation(
                    name=record.name,
                    code=record.code,
                    level=record.level,
                    parent_id=self.orgs[record.parent][0] if record.parent else None,
                )
                for record in batch
            ]
            self.session.add_all(rows)
            self.session.flush()
            for row, record in zip(rows, batch, strict=True):
                parent_path = self.orgs[record.parent][1] if record.parent else "/"
                row.path = f"{parent_path}{row.id}/"
                self.orgs[record.code] = (row.id, row.path)
        self.session.flush()
        return len(records)

    def _add(
        self,
        table: type[SQLModel],
        records: list[BaseModel],
        *,
        exclude: set[str] | frozenset[str] = frozenset(),
        extra: list[dict[str, Any]] | None = None,
    ) -> list[Any]:
        """Rows of ``table`` for ``records``, references resolved to ids, flushed."""
        rows = []
        for index, record in enumerate(records):
            values = record.model_dump(exclude=set(exclude) | set(ID_FIELDS))
            for doc_field, model_field in ID_FIELDS.items():
                if doc_field in type(record).model_fields:
                    values[model_field] = self._resolve(doc_field, getattr(record, doc_field))
            if extra is not None:
                values |= extra[index]
            rows.append(table(**values))
        self.session.add_all(rows)
        self.session.flush()
        return rows

    def _resolve(self, doc_field: str, key: str | None) -> int | None:
        if key is None:
            return None
        if doc_field == "org":
            return self.orgs[key][0]
        return self.ids[doc_field][key]
