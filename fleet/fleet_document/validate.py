"""All-or-nothing validation of a fleet document against itself and the target database.

Every record is checked on its own first (field types and limits), then across the document
and the database: unique keys, references to organisations, depots, parking sites, lessors
and users, parent levels of the organisation tree, and the domain models' own cross-field
rules (``check_vehicle_rules`` and friends). All problems are collected before anything is
written, each with its path in the document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlmodel import Session, select

from fleet.fleet_document.errors import (
    DocumentError,
    FleetImportError,
    from_validation_error,
)
from fleet.fleet_document.schema import (
    FORMAT,
    DepotCollection,
    DepotFeature,
    DriverRecord,
    FleetDocument,
    LessorRecord,
    OrganisationRecord,
    ParkingSiteCollection,
    ParkingSiteFeature,
    UserRecord,
    VehicleRecord,
    ZoneCollection,
    ZoneFeature,
)
from fleet.models import (
    Depot,
    Driver,
    DriverCreate,
    HireWindowCreate,
    Lessor,
    LessorCreate,
    Organisation,
    Ownership,
    ParkingSite,
    Role,
    User,
    UserCreate,
    Vehicle,
    VehicleCreate,
    ZoneCreate,
)
from fleet.models.common import OrgLevel
from fleet.models.organisation import ALLOWED_PARENT_LEVELS

#: Document reference fields and the model id fields they stand for.
ID_FIELDS = {
    "org": "org_id",
    "home_depot": "home_depot_id",
    "parking_site": "parking_site_id",
    "lessor": "lessor_id",
    "user": "user_id",
    "depot": "depot_id",
}
_DOC_NAMES = {model_field: doc_field for doc_field, model_field in ID_FIELDS.items()}


class ExistingOrg(NamedTuple):
    id: int
    level: OrgLevel
    path: str


@dataclass
class ExistingKeys:
    """The natural keys already in the database, and their ids (names may repeat there)."""

    organisations: dict[str, ExistingOrg] = field(default_factory=dict)
    depots: dict[str, list[int]] = field(default_factory=dict)
    parking_sites: dict[str, list[int]] = field(default_factory=dict)
    lessors: dict[str, list[int]] = field(default_factory=dict)
    users: dict[str, tuple[int, Role]] = field(default_factory=dict)
    plates: set[str] = field(default_factory=set)
    vins: set[str] = field(default_factory=set)
    gps_device_ids: set[str] = field(default_factory=set)
    driver_user_ids: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session) -> "ExistingKeys":
        keys = cls(
            organisations={
                code: ExistingOrg(id_, OrgLevel(level), path)
                for id_, code, level, path in session.exec(
                    select(Organisation.id, Organisation.code, Organisation.level, Organisation.path)
                )
            },
            users={name: (id_, Role(role)) for id_, name, role in session.exec(select(User.id, User.username, User.role))},
            driver_user_ids={uid for uid in session.exec(select(Driver.user_id)) if uid is not None},
        )
        for target, model in ((keys.depots, Depot), (keys.parking_sites, ParkingSite), (keys.lessors, Lessor)):
            for id_, name in session.exec(select(model.id, model.name)):
                target.setdefault(name, []).append(id_)
        for plate, vin, device in session.exec(select(Vehicle.plate, Vehicle.vin, Vehicle.gps_device_id)):
            keys.plates.add(plate)
            keys.vins.add(vin)
            if device is not None:
                keys.gps_device_ids.add(device)
        return keys


@dataclass
class ValidatedDocument:
    """A document that passed every check, ready to be written to the database it was
    checked against. ``sha256`` identifies the input in the audit log."""

    document: FleetDocument
    existing: ExistingKeys
    sha256: str


class _Keys:
    """One kind of natural key: where each was defined in the document, and the database's."""

    def __init__(self, kind: str, existing: Container[str], errors: list[DocumentError]) -> None:
        self.kind = kind
        self.existing = existing
        self.ambiguous = (
            {key for key, ids in existing.items() if isinstance(ids, list) and len(ids) > 1}
            if isinstance(existing, Mapping)
            else set()
        )
        self.errors = errors
        self.defined: dict[str, str] = {}
        self.broken: set[str] = set()

    def define(self, key: str | None, path: str) -> None:
        """Record ``key`` at ``path``; a repeat in the document or the database is an error."""
        if key is None:
            return
        if key in self.defined:
            self.errors.append(DocumentError(path, f"duplicate {self.kind} {key!r} (also at {self.defined[key]})"))
        elif key in self.existing:
            self.errors.append(DocumentError(path, f"{self.kind} {key!r} already exists in the database"))
        else:
            self.defined[key] = path

    def refer(self, key: str | None, path: str) -> None:
        """A reference to ``key`` from ``path`` must name a record of the document or the
        database (one already reported as broken is not reported again)."""
        if key is None or key in self.defined or key in self.broken:
            return
        if key not in self.existing:
            self.errors.append(DocumentError(path, f"unknown {self.kind} {key!r}"))
        elif key in self.ambiguous:
            self.errors.append(
                DocumentError(path, f"ambiguous {self.kind} {key!r}: the database has several by that name")
            )


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    features: list[Any]


@dataclass(frozen=True)
class _Section:
    name: str
    model: type[BaseModel]
    collection: bool = False
    key_field: str | None = None


_SECTIONS = (
    _Section("organisations", OrganisationRecord, key_field="code"),
    _Section("lessors", LessorRecord, key_field="name"),
    _Section("depots", DepotFeature, collection=True, key_field="name"),
    _Section("parking_sites", ParkingSiteFeature, collection=True, key_field="name"),
    _Section("zones", ZoneFeature, collection=True),
    _Section("users", UserRecord, key_field="username"),
    _Section("drivers", DriverRecord),
    _Section("vehicles", VehicleRecord),
)

Parsed = dict[str, list[tuple[str, Any]]]


def document_sha256(data: Any) -> str:
    """SHA-256 of the canonical JSON of ``data`` (keys sorted, UTF-8)."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def validate_document(data: Any, session: Session | None = None) -> ValidatedDocument:
    """Check ``data`` (parsed JSON or a :class:`FleetDocument`) against itself and the
    database behind ``session`` (an empty one when ``None``).

    Raises :class:`FleetImportError` with every problem found; writes nothing.
    """
    if isinstance(data, FleetDocument):
        data = data.as_json()
    errors: list[DocumentError] = []
    parsed, broken = _parse(data, errors)
    existing = ExistingKeys.load(session) if session is not None else ExistingKeys()
    _Checker(parsed, broken, existing, errors).run()
    if errors:
        raise FleetImportError(errors)
    return ValidatedDocument(_assemble(parsed), existing, document_sha256(data))


def _parse(data: Any, errors: list[DocumentError]) -> tuple[Parsed, dict[str, set[str]]]:
    parsed: Parsed = {section.name: [] for section in _SECTIONS}
    broken: dict[str, set[str]] = {section.name: set() for section in _SECTIONS}
    if not isinstance(data, Mapping):
        errors.append(DocumentError("$", "the document must be a JSON object"))
        return parsed, broken
    for key in data:
        if key not in FleetDocument.model_fields:
            errors.append(DocumentError(str(key), f"unknown key; expected one of {', '.join(FleetDocument.model_fields)}"))
    if data.get("format", FORMAT) != FORMAT:
        errors.append(DocumentError("format", f"unsupported format; expected {FORMAT!r}"))
    for section in _SECTIONS:
        items, prefix = _items(section, data.get(section.name), errors)
        for index, item in enumerate(items):
            path = f"{prefix}[{index}]"
            try:
                parsed[section.name].append((path, section.model.model_validate(item)))
            except ValidationError as exc:
                errors.extend(from_validation_error(path, exc))
                key = _raw_key(item, section)
                if key is not None:
                    broken[section.name].add(key)
    return parsed, broken


def _items(section: _Section, raw: Any, errors: list[DocumentError]) -> tuple[list[Any], str]:
    if raw is None:
        return [], section.name
    if not section.collection:
        if isinstance(raw, list):
            return raw, section.name
        errors.append(DocumentError(section.name, "must be a JSON array"))
        return [], section.name
    try:
        envelope = _Envelope.model_validate(raw)
    except ValidationError as exc:
        errors.extend(from_validation_error(section.name, exc))
        return [], section.name
    if envelope.type != "FeatureCollection":
        errors.append(DocumentError(f"{section.name}.type", "must be 'FeatureCollection'"))
    return envelope.features, f"{section.name}.features"


def _raw_key(item: Any, section: _Section) -> str | None:
    if section.key_field is None or not isinstance(item, Mapping):
        return None
    holder = item.get("properties") if section.collection else item
    key = holder.get(section.key_field) if isinstance(holder, Mapping) else None
    return key if isinstance(key, str) else None


def _assemble(parsed: Parsed) -> FleetDocument:
    def records(name: str) -> list[Any]:
        return [record for _, record in parsed[name]]

    return FleetDocument.model_construct(
        organisations=records("organisations"),
        lessors=records("lessors"),
        depots=DepotCollection.model_construct(features=records("depots")),
        parking_sites=ParkingSiteCollection.model_construct(features=records("parking_sites")),
        zones=ZoneCollection.model_construct(features=records("zones")),
        users=records("users"),
        drivers=records("drivers"),
        vehicles=records("vehicles"),
    )


class _Checker:
    """The cross-record checks, in dependency order."""

    def __init__(
        self,
        parsed: Parsed,
        broken: dict[str, set[str]],
        existing: ExistingKeys,
        errors: list[DocumentError],
    ) -> None:
        self.parsed = parsed
        self.existing = existing
        self.errors = errors
        self.orgs = _Keys("organisation code", existing.organisations, errors)
        self.lessors = _Keys("lessor", existing.lessors, errors)
        self.depots = _Keys("depot", existing.depots, errors)
        self.sites = _Keys("parking site", existing.parking_sites, errors)
        self.users = _Keys("username", existing.users, errors)
        for keys, section in (
            (self.orgs, "organisations"),
            (self.lessors, "lessors"),
            (self.depots, "depots"),
            (self.sites, "parking_sites"),
            (self.users, "users"),
        ):
            keys.broken = broken[section]

    def run(self) -> None:
        self._organisations()
        self._lessors()
        self._places()
        self._users()
        self._drivers()
        self._vehicles()

    def _rules(self, path: str, model: type[BaseModel], payload: dict[str, Any]) -> None:
        """Run a domain model's own validation on ``payload``; report at ``path``."""
        try:
            model.model_validate(payload)
        except ValidationError as exc:
            self.errors.extend(from_validation_error(path, exc, _DOC_NAMES))

    def _organisations(self) -> None:
        records = self.parsed["organisations"]
        levels: dict[str, OrgLevel] = {code: org.level for code, org in self.existing.organisations.items()}
        for path, org in records:
            self.orgs.define(org.code, f"{path}.code")
            levels.setdefault(org.code, org.level)
        for path, org in records:
            allowed = ALLOWED_PARENT_LEVELS[org.level]
            where = f"{path}.parent"
            if org.parent is None:
                if None not in allowed:
                    self.errors.append(DocumentError(where, f"required: a {org.level} sits under {_levels(allowed)}"))
                continue
            if None in allowed:
                self.errors.append(DocumentError(where, f"a {org.level} has no parent"))
                continue
            self.orgs.refer(org.parent, where)
            parent_level = levels.get(org.parent)
            if parent_level is not None and parent_level not in allowed:
                self.errors.append(
                    DocumentError(where, f"a {org.level} must sit under {_levels(allowed)}, not under a {parent_level}")
                )

    def _lessors(self) -> None:
        for path, lessor in self.parsed["lessors"]:
            self.lessors.define(lessor.name, f"{path}.name")
            self.orgs.refer(lessor.org, f"{path}.org")
            self._rules(path, LessorCreate, _payload(lessor))

    def _places(self) -> None:
        for path, feature in self.parsed["depots"]:
            props = feature.properties
            self.depots.define(props.name, f"{path}.properties.name")
            self.orgs.refer(props.org, f"{path}.properties.org")
        for path, feature in self.parsed["parking_sites"]:
            props = feature.properties
            self.sites.define(props.name, f"{path}.properties.name")
            self.orgs.refer(props.org, f"{path}.properties.org")
            self.depots.refer(props.depot, f"{path}.properties.depot")
        for path, feature in self.parsed["zones"]:
            props = feature.properties
            self.orgs.refer(props.org, f"{path}.properties.org")
            self._rules(f"{path}.properties", ZoneCreate, _payload(props) | {"geometry": feature.geometry})

    def _users(self) -> None:
        for path, user in self.parsed["users"]:
            self.users.define(user.username, f"{path}.username")
            self.orgs.refer(user.org, f"{path}.org")
            if (user.password is None) == (user.password_hash is None):
                self.errors.append(DocumentError(f"{path}.password", "give either password or password_hash"))
            elif user.password is not None:
                self._rules(path, UserCreate, _payload(user, exclude={"password_hash"}))
            else:
                try:
                    extract_parameters(user.password_hash)
                except InvalidHashError:
                    self.errors.append(DocumentError(f"{path}.password_hash", "not an argon2 hash"))

    def _drivers(self) -> None:
        roles = {name: role for name, (_, role) in self.existing.users.items()}
        roles.update({user.username: user.role for _, user in self.parsed["users"]})
        linked: dict[str, str] = {
            name: "the database" for name, (id_, _) in self.existing.users.items() if id_ in self.existing.driver_user_ids
        }
        for path, driver in self.parsed["drivers"]:
            self.orgs.refer(driver.org, f"{path}.org")
            self.depots.refer(driver.home_depot, f"{path}.home_depot")
            self._rules(path, DriverCreate, _payload(driver))
            if driver.user is None:
                continue
            where = f"{path}.user"
            self.users.refer(driver.user, where)
            if driver.user in linked:
                self.errors.append(DocumentError(where, f"user {driver.user!r} is already the login of a driver ({linked[driver.user]})"))
            else:
                linked[driver.user] = where
            role = roles.get(driver.user)
            if role is not None and role != Role.driver:
                self.errors.append(DocumentError(where, f"user {driver.user!r} has role {role}, not driver"))

    def _vehicles(self) -> None:
        plates = _Keys("plate", self.existing.plates, self.errors)
        vins = _Keys("VIN", self.existing.vins, self.errors)
        devices = _Keys("GPS device id", self.existing.gps_device_ids, self.errors)
        for path, vehicle in self.parsed["vehicles"]:
            plates.define(vehicle.plate, f"{path}.plate")
            vins.define(vehicle.vin, f"{path}.vin")
            devices.define(vehicle.gps_device_id, f"{path}.gps_device_id")
            self.orgs.refer(vehicle.org, f"{path}.org")
            self.depots.refer(vehicle.home_depot, f"{path}.home_depot")
            self.sites.refer(vehicle.parking_site, f"{path}.parking_site")
            self.lessors.refer(vehicle.lessor, f"{path}.lessor")
            self._rules(path, VehicleCreate, _payload(vehicle, exclude={"hire_windows"}))
            if vehicle.hire_windows and vehicle.ownership != Ownership.leased:
                self.errors.append(DocumentError(f"{path}.hire_windows", "only a leased car has hire windows"))
            for index, window in enumerate(vehicle.hire_windows):
                self._rules(f"{path}.hire_windows[{index}]", HireWindowCreate, window.model_dump())


def _payload(record: BaseModel, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """``record``'s fields for its domain model, each reference replaced by a placeholder
    id (0) so the model's own rules run before any id exists."""
    payload = record.model_dump(exclude=set(exclude))
    for doc_field, model_field in ID_FIELDS.items():
        if doc_field in payload:
            payload[model_field] = None if payload.pop(doc_field) is None else 0
    return payload


def _levels(allowed: Iterable[OrgLevel | None]) -> str:
    return " or ".join(sorted(f"a {level}" for level in allowed if level is not None))
