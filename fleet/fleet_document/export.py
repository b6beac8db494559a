"""Write the database's fleet back as a fleet document (the format ``fleet import`` reads)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, SQLModel, select

from fleet.fleet_document.schema import (
    DepotCollection,
    DepotFeature,
    DepotProperties,
    DriverRecord,
    FleetDocument,
    HireWindowRecord,
    LessorRecord,
    LessorTariffRecord,
    OrganisationRecord,
    ParkingSiteCollection,
    ParkingSiteFeature,
    ParkingSiteProperties,
    PointGeometry,
    UserRecord,
    VehicleRecord,
    ZoneCollection,
    ZoneFeature,
    ZoneProperties,
)
from fleet.models import Depot, Driver, HireWindow, Lessor, LessorTariff, Organisation, ParkingSite, User, Vehicle, Zone


def export_fleet(session: Session) -> FleetDocument:
    """Every organisation, lessor, place, user, driver and vehicle (with the hire windows
    entered for it, not those that follow assignments), in id order.

    Users carry their argon2 ``password_hash``, never a password.
    """
    orgs = _all(session, Organisation)
    code = {org.id: org.code for org in orgs}
    depot_rows = _all(session, Depot)
    depot = {row.id: row.name for row in depot_rows}
    site_rows = _all(session, ParkingSite)
    site = {row.id: row.name for row in site_rows}
    lessor_rows = _all(session, Lessor)
    lessor = {row.id: row.name for row in lessor_rows}
    user_rows = _all(session, User)
    username = {row.id: row.username for row in user_rows}
    tariffs: dict[int, list[LessorTariff]] = {}
    for tariff in _all(session, LessorTariff):
        tariffs.setdefault(tariff.lessor_id, []).append(tariff)
    hires: dict[int, list[HireWindow]] = {}
    for window in _all(session, HireWindow):
        if window.assignment_id is None:  # the others follow their assignments
            hires.setdefault(window.vehicle_id, []).append(window)

    return FleetDocument(
        organisations=[_record(OrganisationRecord, o, parent=code.get(o.parent_id)) for o in orgs],
        lessors=[
            _record(
                LessorRecord,
                row,
                org=code[row.org_id],
                tariffs=[_record(LessorTariffRecord, t) for t in tariffs.get(row.id, [])],
            )
            for row in lessor_rows
        ],
        depots=DepotCollection(
            features=[
                DepotFeature(
                    geometry=PointGeometry(coordinates=(row.lon, row.lat)),
                    properties=_record(DepotProperties, row, org=code[row.org_id]),
                )
                for row in depot_rows
            ]
        ),
        parking_sites=ParkingSiteCollection(
            features=[
                ParkingSiteFeature(
                    geometry=row.geometry,
                    properties=_record(ParkingSiteProperties, row, org=code[row.org_id], depot=depot.get(row.depot_id)),
                )
                for row in site_rows
            ]
        ),
        zones=ZoneCollection(
            features=[
                ZoneFeature(geometry=row.geometry, properties=_record(ZoneProperties, row, org=code[row.org_id]))
                for row in _all(session, Zone)
            ]
        ),
        users=[_record(UserRecord, row, org=code[row.org_id], password=None) for row in user_rows],
        drivers=[
            _record(
                DriverRecord,
                row,
                org=code[row.org_id],
                home_depot=depot.get(row.home_depot_id),
                user=username.get(row.user_id),
            )
            for row in _all(session, Driver)
        ],
        vehicles=[
            _record(
                VehicleRecord,
                row,
                org=code[row.org_id],
                home_depot=depot.get(row.home_depot_id),
                parking_site=site.get(row.parking_site_id),
                lessor=lessor.get(row.lessor_id),
                hire_windows=[_record(HireWindowRecord, w) for w in hires.get(row.id, [])],
            )
            for row in _all(session, Vehicle)
        ],
    )


def _all(session: Session, table: type[SQLModel]) -> list[Any]:
    return list(session.exec(select(table).order_by(table.id)))  # type: ignore[attr-defined]


def _record(record_type: type[BaseModel], row: SQLModel, **references: Any) -> Any:
    """A document record from ``row``'s fields of the same name, plus ``references``."""
    values = {name: getattr(row, name) for name in record_type.model_fields if name not in references}
    return record_type.model_validate(values | references)
