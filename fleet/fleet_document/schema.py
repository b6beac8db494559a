"""The fleet description document: one JSON object describing a whole fleet.

Records refer to each other by natural keys instead of database ids: organisations by their
unique ``code`` (parent by ``parent`` code), depots, parking sites and lessors by their unique
``name``, users by ``username``. Depots, parking sites and zones are GeoJSON
FeatureCollections whose feature ``properties`` carry the record's fields. Coordinates are
WGS-84 degrees, ``[lon, lat]`` as GeoJSON orders them.

The record models copy their fields (types, limits, descriptions) from the domain models'
``*Base`` classes, so the JSON Schema and the field checks follow the models; the models'
cross-field rules run during validation (see :mod:`fleet.fleet_document.validate`).
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)
from pydantic.fields import FieldInfo
from sqlmodel import SQLModel

from fleet.geo import validate_polygon_geojson
from fleet.models.driver import DriverBase
from fleet.models.hire_window import HireWindowCreate
from fleet.models.lessor import LessorBase, LessorTariffBase
from fleet.models.organisation import OrganisationBase, UserBase, UserCreate
from fleet.models.sites import DepotBase, ParkingSiteBase, ZoneBase
from fleet.models.vehicle import VehicleBase

FORMAT = "fleet-document/1"


class _Strict(BaseModel):
    """Unknown keys are errors, so a misspelt field is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid")


def _copied(field: FieldInfo, *, optional: bool = False) -> tuple[Any, FieldInfo]:
    info = copy.copy(field)
    annotation = field.annotation
    if optional:
        info.default = None
        annotation = annotation | None  # type: ignore[operator]
    return annotation, info


def _record(
    name: str,
    base: type[SQLModel],
    doc: str,
    *,
    drop: frozenset[str] = frozenset(),
    **extra: Any,
) -> type[_Strict]:
    """A document record with ``base``'s fields except ``drop``, plus ``extra`` fields."""
    fields: dict[str, Any] = {
        field_name: _copied(info)
        for field_name, info in base.model_fields.items()
        if field_name not in drop
    }
    return create_model(name, __base__=_Strict, __doc__=doc, **fields, **extra)


def _ref(what: str, *, required: bool = True) -> Any:
    if required:
        return (str, Field(min_length=1, description=f"{what}."))
    return (str | None, Field(None, min_length=1, description=f"{what}; empty for none."))


OrganisationRecord = _record(
    "OrganisationRecord",
    OrganisationBase,
    "One organisation: the city, a county/district, a township or an agency.",
    parent=_ref("Code of the parent organisation; empty for the city", required=False),
)

LessorTariffRecord = _record(
    "LessorTariffRecord", LessorTariffBase, "The lessor's price and capacity for one class."
)

LessorRecord = _record(
    "LessorRecord",
    LessorBase,
    "A contracted rental company (社会化租赁) and its tariffs. Times are local.",
    drop=frozenset({"org_id"}),
    org=_ref("Code of the organisation that holds the contract"),
    tariffs=(list[LessorTariffRecord], Field(default_factory=list)),  # type: ignore[valid-type]
)

UserRecord = _record(
    "UserRecord",
    UserBase,
    "A login. Give either `password` (hashed on import) or an argon2 `password_hash`.",
    drop=frozenset({"org_id"}),
    org=_ref("Code of the organisation whose subtree the user works in"),
    password=_copied(UserCreate.model_fields["password"], optional=True),
    password_hash=(
        str | None,
        Field(None, max_length=255, description="An argon2 hash, e.g. from an export."),
    ),
)

DriverRecord = _record(
    "DriverRecord",
    DriverBase,
    "A driver of the pooled cars. Shift times are local (display time zone).",
    drop=frozenset({"org_id", "home_depot_id", "user_id"}),
    org=_ref("Code of the driver's organisation"),
    home_depot=_ref("Name of the driver's home depot", required=False),
    user=_ref("Username of the driver's login (role driver)", required=False),
)

HireWindowRecord = _record(
    "HireWindowRecord",
    HireWindowCreate,
    "A time a leased car is hired to the platform (a lease, or one day hire): timezone-aware "
    "times, e.g. `2026-12-02T08:00:00+08:00`; the car is judged only inside its windows.",
)

VehicleRecord = _record(
    "VehicleRecord",
    VehicleBase,
    "A pooled public car or a leased car (with its hire windows).",
    drop=frozenset({"org_id", "home_depot_id", "parking_site_id", "lessor_id"}),
    org=_ref("Code of the owning organisation"),
    home_depot=_ref("Name of the home depot", required=False),
    parking_site=_ref("Name of the designated parking site (定点停放)", required=False),
    lessor=_ref("Name of the lessor; required for a leased car", required=False),
    hire_windows=(list[HireWindowRecord], Field(  # type: ignore[valid-type]
        default_factory=list, description="When a leased car is hired to the platform; none for a pool car.")),
)

DepotProperties = _record(
    "DepotProperties",
    DepotBase,
    "Properties of a depot feature; its point geometry gives lat/lon.",
    drop=frozenset({"org_id", "lat", "lon"}),
    org=_ref("Code of the organisation that runs the depot"),
)

ParkingSiteProperties = _record(
    "ParkingSiteProperties",
    ParkingSiteBase,
    "Properties of a designated parking site (定点停放) feature.",
    drop=frozenset({"org_id", "depot_id", "geometry"}),
    org=_ref("Code of the organisation the site belongs to"),
    depot=_ref("Name of the depot the site belongs to", required=False),
)

ZoneProperties = _record(
    "ZoneProperties",
    ZoneBase,
    "Properties of a zone feature: an allowed area or a forbidden venue with its category.",
    drop=frozenset({"org_id", "geometry"}),
    org=_ref("Code of the organisation the zone belongs to"),
)

Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="Degrees east.")]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="Degrees north.")]

PolygonGeometry = Annotated[
    dict[str, Any],
    AfterValidator(validate_polygon_geojson),
    WithJsonSchema(
        {
            "type": "object",
            "description": "A valid GeoJSON Polygon or MultiPolygon, [lon, lat] in WGS-84 degrees.",
            "properties": {
                "type": {"enum": ["Polygon", "MultiPolygon"]},
                "coordinates": {"type": "array"},
            },
            "required": ["type", "coordinates"],
        }
    ),
]


class PointGeometry(_Strict):
    """A GeoJSON Point, ``[lon, lat]`` in WGS-84 degrees."""

    type: Literal["Point"] = "Point"
    coordinates: tuple[Longitude, Latitude]


class DepotFeature(_Strict):
    """A depot: where pooled cars and drivers start their day."""

    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry
    properties: DepotProperties  # type: ignore[valid-type]


class ParkingSiteFeature(_Strict):
    """A designated parking site polygon."""

    type: Literal["Feature"] = "Feature"
    geometry: PolygonGeometry
    properties: ParkingSiteProperties  # type: ignore[valid-type]


class ZoneFeature(_Strict):
    """A zone polygon: the allowed area (e.g. the city boundary) or a forbidden venue."""

    type: Literal["Feature"] = "Feature"
    geometry: PolygonGeometry
    properties: ZoneProperties  # type: ignore[valid-type]


class DepotCollection(_Strict):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[DepotFeature] = Field(default_factory=list)


class ParkingSiteCollection(_Strict):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ParkingSiteFeature] = Field(default_factory=list)


class ZoneCollection(_Strict):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ZoneFeature] = Field(default_factory=list)


class FleetDocument(_Strict):
    """A whole fleet: organisation tree, places, lessors, users, drivers and vehicles.

    Import is all or nothing. Every key is unique across the document and the database it
    is imported into: organisation codes, depot, parking-site and lessor names, usernames,
    plates, VINs and GPS device ids.
    """

    model_config = ConfigDict(title="Fleet description document")

    format: Literal["fleet-document/1"] = FORMAT
    organisations: list[OrganisationRecord] = Field(default_factory=list)  # type: ignore[valid-type]
    lessors: list[LessorRecord] = Field(default_factory=list)  # type: ignore[valid-type]
    depots: DepotCollection = Field(default_factory=DepotCollection)
    parking_sites: ParkingSiteCollection = Field(default_factory=ParkingSiteCollection)
    zones: ZoneCollection = Field(default_factory=ZoneCollection)
    users: list[UserRecord] = Field(default_factory=list)  # type: ignore[valid-type]
    drivers: list[DriverRecord] = Field(default_factory=list)  # type: ignore[valid-type]
    vehicles: list[VehicleRecord] = Field(default_factory=list)  # type: ignore[valid-type]

    def as_json(self) -> dict[str, Any]:
        """The document as JSON-ready data, empty optional fields left out."""
        return self.model_dump(mode="json", exclude_none=True)
