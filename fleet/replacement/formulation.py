"""The CP-SAT model of a replacement plan over groups of cars in the same state.

Decision variables: ``x[g, t, m]``, how many cars of group ``g`` are retired on 1 January of
plan year ``t`` and replaced by candidate model ``m`` (or right-sized, ``m = None``). The
objective is the plan's lifecycle cost in CNY: the cost of keeping every car (a constant) plus
each decision's change of it (see ``fleet.replacement.lifecycle``).

Policy constraints come in families (``Family``), each constraint tagged with the scope it
applies to. In the normal model the policy is hard. In the *relaxable* model (built to explain
an infeasible policy) every tagged constraint is enforced by its own literal, so that the
solver can report which of them cannot hold together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from ortools.sat.python import cp_model

from fleet.replacement.car_group import CarGroup
from fleet.replacement.car_state import MustRetire
from fleet.replacement.inputs import CandidateModel, PlanInput
from fleet.replacement.lifecycle import Lifecycle

#: Shares are stated to the solver in per mille.
PER_MILLE = 1000


class Family(StrEnum):
    """Families of policy constraints, as named in explanations."""

    min_service = "min_service"
    legacy_emission = "legacy_emission"
    scrappage_mileage = "scrappage_mileage"
    price_cap = "price_cap"
    nev_floor = "nev_floor"
    nev_required = "nev_required"
    budget = "budget"
    chargers = "chargers"
    smoothing = "smoothing"
    right_sizing = "right_sizing"


@dataclass(frozen=True)
class ConstraintTag:
    """One policy constraint: its family, what it applies to, and a sentence about it."""

    family: Family
    scope: str
    message: str


@dataclass(frozen=True)
class Choice:
    """One decision variable: cars of a group retired in a year, with their replacement."""

    group: int
    offset: int
    model: CandidateModel | None
    change_cny: int
    var: cp_model.IntVar


class Formulation:
    """Builds the CP-SAT model of ``plan`` over ``groups``."""

    def __init__(
        self, plan: PlanInput, groups: list[CarGroup], lifecycle: Lifecycle, relaxable: bool = False
    ) -> None:
        self.plan = plan
        self.policy = plan.policy
        self.groups = groups
        self.lifecycle = lifecycle
        self.relaxable = relaxable
        self.model = cp_model.CpModel()
        self.choices: list[Choice] = []
        self.literals: dict[ConstraintTag, cp_model.IntVar] = {}
        self._tags: dict[tuple[Family, str, int | None], ConstraintTag] = {}
        self.spend_vars: list[cp_model.IntVar] = []
        self.baseline_cny = 0
        self._build()

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        by_group: dict[int, list[Choice]] = defaultdict(list)
        for index, group in enumerate(self.groups):
            profile = self.lifecycle.profile(group.states)
            self.baseline_cny += round(self.lifecycle.baseline_cny(profile) * group.size)
            if not (group.decidable or self.relaxable):
                continue
            for offset in range(self.plan.years):
                options = []
                for model in self._options(group):
                    tags = self._forbidding(group, offset, model)
                    if tags is None or (tags and not self.relaxable):
                        continue
                    options.append((model, round(self.lifecycle.change_cny(profile, offset, model)), tags))
                for model, change, tags in _undominated(options):
                    var = self.model.new_int_var(0, group.size, f"x_g{index}_t{offset}_{_name(model)}")
                    for tag in tags:
                        self.model.add(var == 0).only_enforce_if(self._literal(tag))
                    choice = Choice(index, offset, model, change, var)
                    self.choices.append(choice)
                    by_group[index].append(choice)
        for index, choices in by_group.items():
            self._group_limits(self.groups[index], choices)
        self._budgets()
        self._nev_floor()
        self._chargers()
        self._smoothing()
        self.model.minimize(
            cp_model.LinearExpr.weighted_sum([c.var for c in self.choices], [c.change_cny for c in self.choices])
            + self.baseline_cny
        )

    def _options(self, group: CarGroup) -> list[CandidateModel | None]:
        classes = self.policy.classes_replacing(group.key.vehicle_class)
        models: list[CandidateModel | None] = [m for m in self.plan.models if m.vehicle_class in classes]
        return [None, *models]

    def _forbidding(
        self, group: CarGroup, offset: int, model: CandidateModel | None
    ) -> list[ConstraintTag] | None:
        """Policy constraints that forbid this choice; ``None`` when it is never possible."""
        key = group.key
        if key.must_by is not None and offset > key.must_by and not self.relaxable:
            return None
        tags = []
        if model is None:
            if not key.idle:
                tags.append(self._tag(Family.right_sizing, key.org_id))
            return tags
        if key.eligible_from is None or offset < key.eligible_from:
            tags.append(self._tag(Family.min_service, key.org_id))
        cap = self.policy.price_cap_cny.get(model.vehicle_class)
        if cap is not None and model.price_cny > cap:
            tags.append(self._tag(Family.price_cap, model.vehicle_class.value))
        if key.nev_required_use_type is not None and not model.is_nev:
            tags.append(self._tag(Family.nev_required, key.nev_required_use_type))
        return tags

    def _group_limits(self, group: CarGroup, choices: list[Choice]) -> None:
        self.model.add(_total([c.var for c in choices]) <= group.size)
        key = group.key
        if key.must_by is None:
            return
        due = [c.var for c in choices if c.offset <= key.must_by]
        family = (
            Family.legacy_emission if key.must_reason == MustRetire.legacy_emission
            else Family.scrappage_mileage
        )
        self._add(_total(due) == group.size, self._tag(family, key.org_id))

    def _budgets(self) -> None:
        spend: dict[tuple[str, int], _Terms] = defaultdict(_Terms)
        totals: dict[int, _Terms] = defaultdict(_Terms)
        for choice in self.choices:
            if choice.model is not None:
                price = round(choice.model.price_cny)
                org = self.groups[choice.group].key.org_id
                spend[org, choice.offset].add(choice.var, price)
                totals[choice.offset].add(choice.var, price)
        for (org, offset), terms in sorted(spend.items()):
            limit = self.policy.budget_for(org, self.plan.start_year + offset)
            if limit is not None:
                self._add(terms.expr() <= int(limit), self._tag(Family.budget, org, offset))
        upper = sum(round(max(m.price_cny for m in self.plan.models)) * g.size for g in self.groups)
        for offset in range(self.plan.years):
            var = self.model.new_int_var(0, upper, f"spend_t{offset}")
            self.model.add(var == totals[offset].expr())
            self.spend_vars.append(var)

    def _nev_floor(self) -> None:
        bought: dict[int, list[Choice]] = defaultdict(list)
        for choice in self.choices:
            if choice.model is not None:
                bought[choice.offset].append(choice)
        for offset, choices in sorted(bought.items()):
            floor = round(self.policy.nev_floor_for(self.plan.start_year + offset) * PER_MILLE)
            if floor == 0:
                continue
            # PER_MILLE * NEVs bought >= floor * all cars bought, as one weighted sum.
            terms = _Terms()
            for c in choices:
                terms.add(c.var, (PER_MILLE if c.model is not None and c.model.is_nev else 0) - floor)
            self._add(terms.expr() >= 0, self._tag(Family.nev_floor, "", offset))

    def _chargers(self) -> None:
        """Plug-in cars based at a depot never outnumber its chargers: existing plug-in cars
        still in service plus the NEVs bought for it so far."""
        depots = {d.depot_id for d in self.policy.depots}
        plug_ins: dict[str, int] = defaultdict(int)
        changes: dict[str, list[tuple[int, int, cp_model.IntVar]]] = defaultdict(list)
        for group in self.groups:
            if group.key.depot_id in depots and group.plug_in:
                plug_ins[group.key.depot_id] += group.size  # type: ignore[index]
        for choice in self.choices:
            group = self.groups[choice.group]
            if group.key.depot_id not in depots:
                continue
            gained = choice.model is not None and choice.model.is_nev
            delta = int(gained) - int(group.plug_in)
            if delta:
                changes[group.key.depot_id].append((choice.offset, delta, choice.var))  # type: ignore[index]
        for depot, depot_changes in sorted(changes.items()):
            depot_changes.sort(key=lambda item: item[0])
            terms, taken = _Terms(), 0
            for offset in range(self.plan.years):
                while taken < len(depot_changes) and depot_changes[taken][0] <= offset:
                    _, delta, var = depot_changes[taken]
                    terms.add(var, delta)
                    taken += 1
                limit = self.policy.chargers_for(depot, self.plan.start_year + offset)
                assert limit is not None
                self._add(
                    terms.expr() <= limit - plug_ins[depot], self._tag(Family.chargers, depot, offset)
                )

    def _smoothing(self) -> None:
        share = self.policy.max_spend_swing_share
        if share is None or self.plan.years < 2:
            return
        share_pm = round(share * PER_MILLE)
        years = self.plan.years
        total = _total(self.spend_vars)
        for offset in range(years - 1):
            step = self.spend_vars[offset + 1] - self.spend_vars[offset]
            tag = self._tag(Family.smoothing, "", offset)
            self._add(PER_MILLE * years * step <= share_pm * total, tag)
            self._add(-PER_MILLE * years * step <= share_pm * total, tag)

    # -- tags -----------------------------------------------------------------------------

    def _add(self, constraint: cp_model.BoundedLinearExpression, tag: ConstraintTag) -> None:
        added = self.model.add(constraint)
        if self.relaxable:
            added.only_enforce_if(self._literal(tag))

    def _literal(self, tag: ConstraintTag) -> cp_model.IntVar:
        if tag not in self.literals:
            self.literals[tag] = self.model.new_bool_var(f"{tag.family.value}:{tag.scope}")
        return self.literals[tag]

    def _tag(self, family: Family, scope: str, offset: int | None = None) -> ConstraintTag:
        key = (family, scope, offset)
        if key not in self._tags:
            self._tags[key] = self._new_tag(family, scope, offset)
        return self._tags[key]

    def _new_tag(self, family: Family, scope: str, offset: int | None) -> ConstraintTag:
        policy, year = self.policy, None if offset is None else self.plan.start_year + offset
        if family == Family.budget:
            limit = policy.budget_for(scope, year)  # type: ignore[arg-type]
            return ConstraintTag(
                family, f"{scope} {year}",
                f"annual budget of organisation {scope!r} in {year} ({limit:,.0f} CNY)",
            )
        if family == Family.chargers:
            limit = policy.chargers_for(scope, year)  # type: ignore[arg-type]
            return ConstraintTag(
                family, f"{scope} {year}",
                f"charger capacity of depot {scope!r} in {year} ({limit} chargers)",
            )
        if family == Family.nev_floor:
            floor = policy.nev_floor_for(year)  # type: ignore[arg-type]
            return ConstraintTag(
                family, str(year), f"NEV share floor of {floor:.0%} of the cars bought in {year}"
            )
        if family == Family.smoothing:
            return ConstraintTag(
                family, f"{year}-{year + 1}",  # type: ignore[operator]
                f"spend smoothing between {year} and {year + 1}: change at most "  # type: ignore[operator]
                f"{policy.max_spend_swing_share:.0%} of the mean annual spend",
            )
        if family == Family.min_service:
            return ConstraintTag(
                family, scope,
                f"no early renewal for organisation {scope!r}: a car may be replaced after "
                f"{policy.min_service_years:g} years "
                f"{'or' if policy.eligibility == 'age_or_mileage' else 'and'} "
                f"{policy.min_odometer_km:,.0f} km",
            )
        if family == Family.legacy_emission:
            return ConstraintTag(
                family, scope,
                f"{policy.legacy_emission_standard.value} and older cars of organisation {scope!r} "
                f"must retire within {policy.legacy_retire_within_years} plan years",
            )
        if family == Family.scrappage_mileage:
            return ConstraintTag(
                family, scope,
                f"cars of organisation {scope!r} reaching {policy.scrap_odometer_km:,.0f} km "
                f"must retire",
            )
        if family == Family.price_cap:
            cap = policy.price_cap_cny[scope]  # type: ignore[index]
            return ConstraintTag(family, scope, f"price cap for a {scope} ({cap:,.0f} CNY)")
        if family == Family.nev_required:
            return ConstraintTag(family, scope, f"use type {scope!r} must be replaced by a NEV")
        return ConstraintTag(
            family, scope,
            f"only idle cars of organisation {scope!r} (under {policy.idle_annual_km:,.0f} "
            f"km/year) may be retired without replacement",
        )


def _undominated(
    options: list[tuple[CandidateModel | None, int, list[ConstraintTag]]],
) -> list[tuple[CandidateModel | None, int, list[ConstraintTag]]]:
    """Drop a model when another allowed model of the same kind (NEV or not) is no dearer and
    no costlier over the lifecycle: the plan never buys a dominated model, not even to smooth
    spend. Right-sizing (``None``) and, in the relaxable model, forbidden options stay.

    Among allowed models of one kind in (price, change, id) order, a model is dominated exactly
    when an earlier one changes the lifecycle cost no more than it does."""
    dominated: set[int] = set()
    best_change: dict[bool, int] = {}
    allowed = sorted(
        (index for index, (model, _, tags) in enumerate(options) if model is not None and not tags),
        key=lambda i: (options[i][0].price_cny, options[i][1], options[i][0].model_id),  # type: ignore[union-attr]
    )
    for index in allowed:
        model, change, _ = options[index]
        kind = model.is_nev  # type: ignore[union-attr]
        if kind in best_change and best_change[kind] <= change:
            dominated.add(index)
        else:
            best_change[kind] = change
    return [option for index, option in enumerate(options) if index not in dominated]


def _name(model: CandidateModel | None) -> str:
    return "none" if model is None else model.model_id


def _total(variables: list[cp_model.IntVar]) -> cp_model.LinearExpr:
    """The sum of ``variables`` as one expression (much faster to build than ``sum``)."""
    return cp_model.LinearExpr.sum(variables)


class _Terms:
    """Variables and integer coefficients gathered for one weighted sum."""

    def __init__(self) -> None:
        self.variables: list[cp_model.IntVar] = []
        self.coefficients: list[int] = []

    def add(self, variable: cp_model.IntVar, coefficient: int) -> None:
        self.variables.append(variable)
        self.coefficients.append(coefficient)

    def expr(self) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.weighted_sum(self.variables, self.coefficients)
