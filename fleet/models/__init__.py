"""Domain models: one SQLModel family per noun (Base, Create, Update, Public, table)."""
# ruff: noqa: F401  (re-exports; __all__ below lists them)

# The feature modules too, so that importing this package puts every table on SQLModel.metadata.
from fleet.models import compliance, device, login_throttle, replacement, telemetry
from fleet.models.common import (
    NEV_ENERGIES,
    AlertSeverity,
    AlertState,
    AssignmentKind,
    EmissionStandard,
    Energy,
    LicenceClass,
    OrgLevel,
    Ownership,
    RequestState,
    Role,
    VehicleClass,
    VehicleStatus,
    VenueCategory,
    ZoneKind,
    utcnow,
)
from fleet.models.dispatch_plan import DispatchPlan, DispatchPlanPublic, PlanStatus
from fleet.models.driver import Driver, DriverCreate, DriverPublic, DriverUpdate
from fleet.models.hire_window import HireWindow, HireWindowCreate, HireWindowPublic
from fleet.models.lessor import (
    Lessor,
    LessorCreate,
    LessorPublic,
    LessorTariff,
    LessorTariffCreate,
    LessorTariffPublic,
    LessorUpdate,
)
from fleet.models.operations import (
    Alert,
    AlertPublic,
    Assignment,
    AssignmentCreate,
    AssignmentPublic,
    AssignmentUpdate,
    AuditEntry,
    AuditEntryPublic,
    Position,
    PositionPublic,
    Trip,
    TripPublic,
)
from fleet.models.organisation import (
    Organisation,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
    User,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from fleet.models.place import Place, PlaceCreate, PlaceKind, PlacePublic, PlaceUpdate
from fleet.models.sites import (
    Depot,
    DepotCreate,
    DepotPublic,
    DepotUpdate,
    ParkingSite,
    ParkingSiteCreate,
    ParkingSitePublic,
    ParkingSiteUpdate,
    Zone,
    ZoneCreate,
    ZonePublic,
    ZoneUpdate,
)
from fleet.models.trip_request import (
    TransitionRequest,
    TripRequest,
    TripRequestCreate,
    TripRequestPublic,
    TripRequestUpdate,
)
from fleet.models.vehicle import Vehicle, VehicleCreate, VehiclePublic, VehicleUpdate


__all__ = [name for name in dir() if not name.startswith("_")]
