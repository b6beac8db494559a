"""The planner's database mode: plan inputs built from the fleet tables, jurisdiction policies,
stored plans and the chart figures.

What a car record is made of:

- age on 1 January of the first plan year, from ``Vehicle.purchase_date``;
- odometer: the larger of ``Vehicle.odometer_km`` and the last trip's end reading, projected to
  the plan start at the measured annual km;
- annual km and utilisation from ``fleet.replacement.usage`` (trips where the platform has
  observed the car long enough, else odometer over age, else an unknown usage that never makes
  a car idle), the one source the API and the CLI share;
- maintenance history: ``maintenance_cost`` rows summed per calendar year before the plan;
- depot: ``Vehicle.home_depot_id``; organisation: the nearest organisation at or above the car
  (within the planned subtree) that has a budget in the policy, else the car's own.

Pool cars that are not retired are planned; leased cars belong to their lessor. Organisation
and depot ids are database ids written as strings in the planner's inputs. A jurisdiction
without a policy row of its own follows its nearest ancestor's, and the national defaults with
the reference catalogue of ``fleet.replacement.example`` when there is none.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import (
    Depot,
    Organisation,
    Ownership,
    Trip,
    User,
    Vehicle,
    VehicleStatus,
    utcnow,
)
from fleet.models.replacement import (
    MaintenanceCostRecord,
    ReplacementPlanRecord,
    ReplacementPolicyRecord,
)
from fleet.replacement.example import candidate_models
from fleet.replacement.inputs import CandidateModel, CarRecord, PlanInput
from fleet.replacement.plan import ReplacementPlan
from fleet.replacement.policy import ReplacementPolicy
from fleet.replacement.usage import CarUsage, car_usage

class NoCarsToPlan(ValueError):
    """The organisation's subtree has no pool car in service."""


@dataclass(frozen=True)
class JurisdictionSettings:
    """The policy and candidate models that apply to an organisation, and where they come
    from (``source_org_id`` None: the national defaults and the reference catalogue)."""

    policy: ReplacementPolicy
    models: list[CandidateModel]
    source_org_id: int | None
    record: ReplacementPolicyRecord | None


@dataclass(frozen=True)
class BuiltInput:
    """A plan input built from the database, with the vehicle id behind each car id (plate)."""

    plan_input: PlanInput
    vehicle_ids: dict[str, int]
    settings: JurisdictionSettings
    usage: dict[str, CarUsage]


def org_path_ids(org: Organisation) -> list[int]:
    """Ids from the root down to ``org`` itself, from its materialised path."""
    return [int(part) for part in org.path.strip("/").split("/") if part]


def settings_for(session: Session, org: Organisation) -> JurisdictionSettings:
    """The policy of ``org``: its own row, else its nearest ancestor's, else the defaults."""
    chain = org_path_ids(org) or [org.id]  # type: ignore[list-item]
    rows = session.exec(
        select(ReplacementPolicyRecord).where(col(ReplacementPolicyRecord.org_id).in_(chain))
    ).all()
    if not rows:
        return JurisdictionSettings(
            policy=ReplacementPolicy(jurisdiction=org.name), models=candidate_models(),
            source_org_id=None, record=None,
        )
    nearest = max(rows, key=lambda row: chain.index(row.org_id))
    policy = ReplacementPolicy.model_validate(nearest.policy | {"jurisdiction": org.name})
    models = [CandidateModel.model_validate(m) for m in nearest.models] or candidate_models()
    return JurisdictionSettings(policy=policy, models=models, source_org_id=nearest.org_id, record=nearest)


def build_plan_input(
    session: Session,
    org: Organisation,
    start_year: int,
    years: int,
    as_of: datetime | None = None,
    tz: ZoneInfo | None = None,
    policy_changes: dict[str, Any] | None = None,
) -> BuiltInput:
    """The plan input of ``org``'s subtree: its pool cars in service, its policy and models.

    ``as_of`` (UTC, default now) ends the trip measurement window; ``tz`` (default the display
    time zone) decides on which local day a trip was driven; ``policy_changes`` replaces
    settings of the jurisdiction's policy for this plan only (``ReplacementPolicy`` fields).
    Raises ``NoCarsToPlan`` and ``pydantic.ValidationError`` (messages name the field, under
    ``policy.`` for a change).
    """
    from fleet.settings import get_settings

    as_of = as_of or datetime.now(UTC)
    tz = tz or get_settings().tz
    settings = with_policy_changes(settings_for(session, org), policy_changes or {})
    subtree = select(Organisation.id).where(col(Organisation.path).startswith(org.path))
    vehicles = session.exec(
        select(Vehicle)
        .where(col(Vehicle.org_id).in_(subtree))
        .where(Vehicle.ownership == Ownership.pool)
        .where(Vehicle.status != VehicleStatus.retired)
        .order_by(col(Vehicle.id))
    ).all()
    if not vehicles:
        raise NoCarsToPlan(f"org_id: organisation {org.id} ({org.name}) has no pool car in service to plan")
    ids = [v.id for v in vehicles]
    last_odometer = _last_odometer_km(session, ids)
    readings = {v.id: max(v.odometer_km, last_odometer.get(v.id, 0.0)) for v in vehicles}  # type: ignore[misc]
    usage = car_usage(session, vehicles, readings, as_of, tz)  # type: ignore[arg-type]
    history = _maintenance_history(session, ids, start_year)
    budget_org = _budget_holders(session, org, settings.policy)
    plan_start = date(start_year, 1, 1)
    cars = []
    for vehicle in vehicles:
        assert vehicle.id is not None
        measured = usage[vehicle.id]
        ahead_days = max((plan_start - as_of.date()).days, 0)
        odometer = min(readings[vehicle.id] + measured.annual_km * ahead_days / 365.25, 2_000_000)
        cars.append({
            "car_id": vehicle.plate,
            "org_id": budget_org(vehicle.org_id),
            "vehicle_class": vehicle.vehicle_class,
            "energy": vehicle.energy,
            "emission_standard": vehicle.emission_standard,
            "age_years": round(max((plan_start - vehicle.purchase_date).days / 365.25, 0.0), 3),
            "purchase_price_cny": vehicle.purchase_price_cny,
            "odometer_km": round(odometer, 1),
            "annual_km": measured.annual_km,
            "annual_km_source": measured.source,
            "utilisation_share": measured.utilisation_share,
            "depot_id": None if vehicle.home_depot_id is None else str(vehicle.home_depot_id),
            "maintenance_history_cny": history.get(vehicle.id, {}),
        })
    plan_input = PlanInput.model_validate({
        "start_year": start_year, "years": years, "policy": settings.policy,
        "cars": [CarRecord.model_validate(car) for car in cars], "models": settings.models,
    })
    return BuiltInput(
        plan_input=plan_input,
        vehicle_ids={v.plate: v.id for v in vehicles},  # type: ignore[misc]
        settings=settings,
        usage={v.plate: usage[v.id] for v in vehicles},  # type: ignore[index]
    )


def with_policy_changes(settings: JurisdictionSettings, changes: dict[str, Any]) -> JurisdictionSettings:
    """``settings`` with ``changes`` to its policy (``ReplacementPolicy`` fields) for one plan;
    raises ``pydantic.ValidationError`` with each location under ``policy``."""
    if not changes:
        return settings
    try:
        policy = ReplacementPolicy.model_validate(settings.policy.model_dump() | changes)
    except ValidationError as exc:
        raise ValidationError.from_exception_data(
            "policy",
            [{**error, "loc": ("policy", *error["loc"])} for error in exc.errors()],  # type: ignore[typeddict-item]
        ) from None
    return JurisdictionSettings(policy=policy, models=settings.models, source_org_id=settings.source_org_id,
                                record=settings.record)


def _last_odometer_km(session: Session, vehicle_ids: list[int]) -> dict[int, float]:
    rows = session.exec(
        select(Trip.vehicle_id, func.max(Trip.end_odometer_km))
        .where(col(Trip.vehicle_id).in_(vehicle_ids))
        .where(col(Trip.end_odometer_km).is_not(None))
        .group_by(col(Trip.vehicle_id))
    ).all()
    return {vehicle_id: reading for vehicle_id, reading in rows if reading is not None}


def _maintenance_history(session: Session, vehicle_ids: list[int], start_year: int) -> dict[int, dict[int, float]]:
    """Maintenance and repair cost per vehicle and past calendar year, CNY."""
    history: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    rows = session.exec(
        select(MaintenanceCostRecord.vehicle_id, MaintenanceCostRecord.incurred_on, MaintenanceCostRecord.cost_cny)
        .where(col(MaintenanceCostRecord.vehicle_id).in_(vehicle_ids))
        .where(col(MaintenanceCostRecord.incurred_on) < date(start_year, 1, 1))
    ).all()
    for vehicle_id, incurred_on, cost_cny in rows:
        history[vehicle_id][incurred_on.year] += cost_cny
    return {vehicle_id: {year: round(cost, 2) for year, cost in years.items()} for vehicle_id, years in history.items()}


def _budget_holders(session: Session, root: Organisation, policy: ReplacementPolicy):  # type: ignore[no-untyped-def]
    """A function from a car's organisation id to the planner org id whose budget pays for
    it: the nearest organisation at or above it, up to ``root``, with a budget in the policy."""
    with_budget = {budget.org_id for budget in policy.budgets}
    root_depth = len(org_path_ids(root))
    paths = dict(session.exec(
        select(Organisation.id, Organisation.path).where(col(Organisation.path).startswith(root.path))
    ).all())

    def holder(org_id: int) -> str:
        chain = [int(p) for p in paths[org_id].strip("/").split("/") if p][root_depth - 1:]
        for candidate in reversed(chain):
            if str(candidate) in with_budget:
                return str(candidate)
        return str(org_id)

    return holder


def store_plan(
    session: Session, org: Organisation, built: BuiltInput, plan: ReplacementPlan, actor: User | str,
    policy_changes: dict[str, Any] | None = None,
) -> ReplacementPlanRecord:
    """Keep ``plan`` of ``org`` with who computed it and when, the policy applied and the
    settings changed for it (``policy_changes``), audit-logged (not committed)."""
    record = ReplacementPlanRecord(
        org_id=org.id,  # type: ignore[arg-type]
        start_year=plan.start_year,
        years=plan.years,
        status=plan.status,
        message=plan.message[:500],
        plan=plan.model_dump(mode="json") | {"policy_changes": policy_changes or {}},
        policy=built.settings.policy.model_dump(mode="json"),
        policy_org_id=built.settings.source_org_id,
        created_by_id=actor.id if isinstance(actor, User) else None,
        created_by=actor.username if isinstance(actor, User) else actor,
    )
    session.add(record)
    session.flush()
    audit.record(session, actor, "replacement_plan.create", "replacement_plan", record.id, None, plan_summary(record))
    return record


def plan_summary(record: ReplacementPlanRecord) -> dict[str, Any]:
    """The headline figures of a stored plan, for the audit log and lists."""
    years = record.plan.get("year_plans", [])
    return {
        "org_id": record.org_id,
        "start_year": record.start_year,
        "years": record.years,
        "status": record.status,
        "retired": sum(len(y["decisions"]) for y in years),
        "spend_cny": sum(y["spend_cny"] for y in years),
        "created_by": record.created_by,
    }


def newest_plan(session: Session, org_id: int) -> ReplacementPlanRecord | None:
    """The most recently computed plan of organisation ``org_id``."""
    return session.exec(
        select(ReplacementPlanRecord)
        .where(ReplacementPlanRecord.org_id == org_id)
        .order_by(col(ReplacementPlanRecord.created_at).desc(), col(ReplacementPlanRecord.id).desc())
        .limit(1)
    ).first()


def replacement_figures(session: Session, org: Organisation, today: date) -> dict[str, Any]:
    """Chart data of ``org``: the age histogram of its pool cars in service (whole years on
    ``today``, every age from 0 to the oldest) and, per year of its newest plan, the NEV share
    of the cars bought, the purchase spend (CNY) and the number of cars retired."""
    subtree = select(Organisation.id).where(col(Organisation.path).startswith(org.path))
    purchased = session.exec(
        select(Vehicle.purchase_date)
        .where(col(Vehicle.org_id).in_(subtree))
        .where(Vehicle.ownership == Ownership.pool)
        .where(Vehicle.status != VehicleStatus.retired)
    ).all()
    counts: dict[int, int] = defaultdict(int)
    for bought in purchased:
        counts[max(int((today - bought).days // 365.25), 0)] += 1
    histogram = [{"age_years": age, "count": counts[age]} for age in range(max(counts, default=-1) + 1)]
    plan = newest_plan(session, org.id)  # type: ignore[arg-type]
    years = [] if plan is None else [
        {
            "year": year["year"],
            "nev_share": year["nev_share"],
            "spend_cny": year["spend_cny"],
            "retire_count": len(year["decisions"]),
        }
        for year in plan.plan.get("year_plans", [])
    ]
    return {
        "org_id": org.id,
        "plan_id": None if plan is None else plan.id,
        "age_histogram": histogram,
        "years": years,
    }


def policy_problems(
    session: Session, org: Organisation, policy: ReplacementPolicy, models: list[CandidateModel]
) -> list[str]:
    """What is wrong with a policy for ``org``, one line per problem naming the field: budget
    organisations and depots outside ``org``'s subtree, a price cap below every model of its
    class."""
    problems = []
    subtree = dict(session.exec(
        select(Organisation.id, Organisation.name).where(col(Organisation.path).startswith(org.path))
    ).all())
    for index, budget in enumerate(policy.budgets):
        if not budget.org_id.isdigit() or int(budget.org_id) not in subtree:
            problems.append(
                f"policy.budgets[{index}].org_id: organisation {budget.org_id} is not in the subtree of {org.name}"
            )
    depot_ids = {str(i) for i in session.exec(select(Depot.id).where(col(Depot.org_id).in_(list(subtree)))).all()}
    for index, depot in enumerate(policy.depots):
        if depot.depot_id not in depot_ids:
            problems.append(f"policy.depots[{index}].depot_id: depot {depot.depot_id} is not a depot of {org.name}")
    for vehicle_class, cap in policy.price_cap_cny.items():
        prices = [m.price_cny for m in models if m.vehicle_class == vehicle_class]
        if prices and min(prices) > cap:
            problems.append(
                f"policy.price_cap_cny.{vehicle_class.value}: cap {cap:,.0f} CNY is below every "
                f"{vehicle_class.value} model's price (cheapest {min(prices):,.0f} CNY)"
            )
    model_ids = [m.model_id for m in models]
    repeated = sorted({i for i in model_ids if model_ids.count(i) > 1})
    if repeated:
        problems.append(f"models: ids must be unique, repeated: {', '.join(repeated)}")
    return problems


def save_policy(
    session: Session,
    org: Organisation,
    policy: ReplacementPolicy,
    models: list[CandidateModel],
    actor: User | str,
) -> ReplacementPolicyRecord:
    """Store ``org``'s own policy and models, audit-logged (not committed)."""
    record = session.exec(select(ReplacementPolicyRecord).where(ReplacementPolicyRecord.org_id == org.id)).first()
    before = None if record is None else audit.snapshot(record)
    record = record or ReplacementPolicyRecord(org_id=org.id)  # type: ignore[arg-type]
    record.policy = policy.model_dump(mode="json", exclude={"jurisdiction"})
    record.models = [m.model_dump(mode="json") for m in models]
    record.updated_at = utcnow()
    record.updated_by_id = actor.id if isinstance(actor, User) else None
    record.updated_by = actor.username if isinstance(actor, User) else actor
    session.add(record)
    session.flush()
    audit.record(session, actor, "replacement_policy.update", "replacement_policy", record.id, before,
                 audit.snapshot(record))
    return record
