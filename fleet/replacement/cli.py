"""``fleet plan-replacement``: a multi-year replacement plan from an input file, or from the
database for an organisation's subtree (``--org CODE``; see ``fleet.replacement.repository``
for how vehicles, trips and maintenance bills become car records).

The input file is the JSON form of ``fleet.replacement.inputs.PlanInput``:

```
{
  "start_year": 2027,                      first calendar year of the plan
  "years": 5,                              horizon, 1..15
  "policy": {                              every setting has the national default; see
    "jurisdiction": "example county",      fleet/replacement/policy.py for the full list
    "min_service_years": 8, "min_odometer_km": 250000,
    "price_cap_cny": {"sedan": 180000, "suv": 250000},
    "nev_share_floor": 0.3, "nev_share_floor_by_year": {"2029": 0.4},
    "nev_required_use_types": ["city_pool"],
    "legacy_emission_standard": "china3", "legacy_retire_within_years": 3,
    "budgets": [{"org_id": "county-01", "annual_budget_cny": 2000000}],
    "depots": [{"depot_id": "county-01-depot", "chargers": 12, "added_by_year": {"2029": 6}}],
    "max_spend_swing_share": 0.5, "idle_annual_km": 5000, "discount_rate": 0.04,
    "salvage_share_by_age": {"0": 0.8, "5": 0.34, "10": 0.13, "20": 0.02}
  },
  "cars": [{"car_id": "苏G12345", "org_id": "county-01", "vehicle_class": "sedan",
            "energy": "petrol", "emission_standard": "china4", "purchase_date": "2014-05-01",
            "purchase_price_cny": 165000, "odometer_km": 231000, "annual_km": 21000,
            "use_type": "general", "depot_id": "county-01-depot",
            "maintenance_history_cny": {"2024": 6100, "2025": 7300, "2026": 8200}}],
  "models": [{"model_id": "bev-165k", "vehicle_class": "sedan", "energy": "bev",
              "price_cny": 165000, "running_cost_cny_per_km": 0.11, "fuel_l_per_100km": 0,
              "co2_g_per_km": 80,
              "maintenance_curve": {"base_cny_per_year": 900, "increase_cny_per_year": 300}}]
}
```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fleet.replacement.inputs import PlanInput, UsageSource, describe_errors
from fleet.replacement.plan import ReplacementPlan, YearPlan

#: Decisions shown per year in the tables; --json always has them all.
ROWS_PER_YEAR = 40
#: How the tables say where the cars' annual km comes from.
USAGE_WORDS = {
    UsageSource.given: "as given in the file",
    UsageSource.trips: "from trips",
    UsageSource.odometer: "from odometer and age",
    UsageSource.unknown: "of unknown usage (never idle for it)",
}


def register(app: typer.Typer) -> None:
    """Add ``plan-replacement`` to the ``fleet`` command."""
    app.command("plan-replacement")(plan_replacement_command)


def plan_replacement_command(
    input_file: Annotated[Path | None, typer.Argument(
        metavar="INPUT.json",
        help="Plan input: start_year, years, policy, cars and candidate models (format in "
             "`fleet/replacement/cli.py`; write a sample with --example).",
        show_default=False,
    )] = None,
    years: Annotated[int | None, typer.Option(
        "--years", min=1, max=15, help="Plan horizon in years; overrides the file's `years`.",
        show_default=False,
    )] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the plan as JSON (for scripts) instead of tables.",
    )] = False,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", min=0.1, max=3600, help="Seconds the optimiser may spend.",
    )] = 10.0,
    example: Annotated[Path | None, typer.Option(
        "--example", help="Write an example input (40 cars, a city and its county) to this file "
                          "and stop.", show_default=False,
    )] = None,
    org: Annotated[str | None, typer.Option(
        "--org", metavar="CODE", help="Without INPUT.json: plan the pool cars of this organisation's "
        "subtree from the database (FLEET_DATABASE_URL), under its jurisdiction's stored policy.",
        show_default=False,
    )] = None,
    start_year: Annotated[int | None, typer.Option(
        "--start-year", min=2000, max=2100, help="With --org: first plan year; default next year.",
        show_default=False,
    )] = None,
    save: Annotated[bool, typer.Option(
        "--save", help="With --org: keep the plan in the database (by `cli`, audit-logged) so that "
                       "it can be filed and charted.",
    )] = False,
) -> None:
    """Plan which cars to retire and replace each year, under the jurisdiction's policy.

    Prints per year each car to retire, its replacement class and energy, the cost, the NEV share, budget use, fuel and CO2 saved and the reason.

    Try it: `fleet plan-replacement --example plan.json && fleet plan-replacement plan.json`, or on a seeded database `fleet plan-replacement --org 320722 --years 3`.

    Exit code 2: bad input; 1: no plan (the binding policy constraints are named).
    """
    from fleet.replacement.example import example_input

    err = Console(stderr=True, soft_wrap=True)
    if example is not None:
        example.write_text(example_input().model_dump_json(indent=2), encoding="utf-8")
        err.print(f"example input written to {example}", highlight=False)
        return
    if (input_file is None) == (org is None):
        err.print("[bold red]give either INPUT.json or --org CODE[/] (or --example FILE)")
        raise typer.Exit(code=2)
    if org is not None:
        _plan_from_database(org, years or 5, start_year, time_limit, as_json, save, err)
        return
    plan_input = _load(input_file, years, err)  # type: ignore[arg-type]
    plan = _solve(plan_input, time_limit, err)
    _show(plan, as_json)


def _solve(plan_input: PlanInput, time_limit: float, err: Console) -> ReplacementPlan:
    """Solve with a progress line on standard error."""
    from fleet.replacement.planner import SolveOptions, SolveProgress, plan_replacement

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err, transient=True,
    ) as progress:
        task = progress.add_task(f"planning {len(plan_input.cars)} cars over {plan_input.years} years")

        def report(step: SolveProgress) -> None:
            gap = (step.objective_cny - step.best_bound_cny) / max(abs(step.objective_cny), 1.0)
            progress.update(task, description=(
                f"plan {step.solutions}: lifecycle cost {step.objective_cny:,.0f} CNY, gap {gap:.2%}"
            ))

        return plan_replacement(plan_input, SolveOptions(time_limit_s=time_limit), progress=report)


def _show(plan: ReplacementPlan, as_json: bool) -> None:
    if as_json:
        typer.echo(plan.model_dump_json(indent=2))
    else:
        _print_plan(plan)
    if plan.status in ("infeasible", "unknown"):
        raise typer.Exit(code=1)


def _plan_from_database(
    code: str, years: int, start_year: int | None, time_limit: float, as_json: bool, save: bool, err: Console
) -> None:
    """Build the input of organisation ``code`` from the configured database, solve, show it
    and, with ``save``, keep it."""
    from datetime import UTC, datetime

    from sqlmodel import select

    from fleet.db import make_engine, session_scope, upgrade
    from fleet.models import Organisation
    from fleet.replacement.repository import NoCarsToPlan, build_plan_input, store_plan
    from fleet.settings import get_settings

    url = get_settings().resolved_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            organisation = session.exec(select(Organisation).where(Organisation.code == code)).first()
            if organisation is None:
                err.print(f"[bold red]--org[/]: no organisation with code {code!r}", highlight=False)
                raise typer.Exit(code=2)
            first_year = start_year or datetime.now(UTC).year + 1
            try:
                built = build_plan_input(session, organisation, first_year, years)
            except (NoCarsToPlan, ValidationError) as exc:
                problems = describe_errors(exc) if isinstance(exc, ValidationError) else [str(exc)]
                err.print(f"[bold red]cannot plan {organisation.name}[/]:", highlight=False)
                for problem in problems:
                    err.print(f"  {problem}", highlight=False, markup=False)
                raise typer.Exit(code=2) from None
            plan = _solve(built.plan_input, time_limit, err)
            if save and plan.status in ("optimal", "feasible"):
                record = store_plan(session, organisation, built, plan, "cli")
                err.print(f"plan {record.id} saved for {organisation.name}", highlight=False)
    finally:
        engine.dispose()
    _show(plan, as_json)


def _load(path: Path, years: int | None, err: Console) -> PlanInput:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if years is not None and isinstance(data, dict):
            data["years"] = years
        return PlanInput.model_validate(data)
    except OSError as exc:
        problems = [f"cannot read the file: {exc.strerror}"]
    except json.JSONDecodeError as exc:
        problems = [f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]
    except ValidationError as exc:
        problems = describe_errors(exc)
    err.print(f"[bold red]invalid plan input[/] {path}:", highlight=False)
    for problem in problems:
        err.print(f"  {problem}", highlight=False, markup=False)
    raise typer.Exit(code=2)


def _print_plan(plan: ReplacementPlan) -> None:
    console = Console()
    stats = plan.stats
    console.print(
        f"[bold]{plan.jurisdiction}[/], {plan.start_year}-{plan.start_year + plan.years - 1}: "
        f"[bold]{plan.status}[/], {plan.message}", highlight=False
    )
    if plan.binding_constraints:
        for binding in plan.binding_constraints:
            console.print(f"  binding: {binding.message}", highlight=False, markup=False)
        return
    if stats.objective_cny is not None:
        console.print(
            f"lifecycle cost {stats.objective_cny:,.0f} CNY (keeping every car: "
            f"{stats.baseline_cny:,.0f} CNY), gap {stats.gap:.2%}, {stats.cars} cars in "
            f"{stats.groups} groups, {stats.wall_time_s:.1f} s", highlight=False
        )
    if plan.usage_sources:
        console.print("annual km: " + ", ".join(
            f"{count} cars {USAGE_WORDS[source]}" for source, count in sorted(plan.usage_sources.items())
        ), highlight=False)
    if not plan.year_plans:
        return
    console.print(_summary(plan.year_plans))
    for year in plan.year_plans:
        if year.decisions:
            console.print(_decisions(year))


def _summary(years: list[YearPlan]) -> Table:
    table = Table(title="Plan by year")
    for column in ("year", "renewed", "right-sized", "spend CNY", "NEV (floor)",
                   "fuel saved l/yr", "CO2 saved kg/yr", "eligible kept"):
        table.add_column(column, justify="left" if column == "year" else "right")
    for year in years:
        share = "-" if year.nev_share is None else f"{year.nev_share:.0%}"
        table.add_row(
            str(year.year), str(year.replaced), str(year.right_sized), f"{year.spend_cny:,.0f}",
            f"{share} ({year.nev_share_floor:.0%})", f"{year.fuel_saved_l_per_year:,.0f}",
            f"{year.co2_saved_kg_per_year:,.0f}", str(year.eligible_kept),
        )
    return table


def _decisions(year: YearPlan) -> Table:
    budgets = ", ".join(
        f"{b.org_id} {b.used_cny:,.0f}/{'-' if b.limit_cny is None else f'{b.limit_cny:,.0f}'}"
        for b in year.budgets if b.used_cny
    )
    table = Table(title=f"{year.year}: budget used {budgets or 'none'}", show_lines=False)
    table.add_column("car")
    table.add_column("now")
    table.add_column("decision")
    table.add_column("reason", ratio=1, overflow="fold")
    for decision in year.decisions[:ROWS_PER_YEAR]:
        now = (
            f"{decision.org_id}, {decision.vehicle_class} {decision.energy}, "
            f"{decision.age_years:.1f} y, {decision.odometer_km:,.0f} km"
        )
        action = (
            "right-size" if decision.replacement_model_id is None
            else f"{decision.replacement_model_id}, {decision.purchase_cost_cny:,.0f} CNY"
        )
        table.add_row(decision.car_id, now, action, decision.reason)
    hidden = len(year.decisions) - ROWS_PER_YEAR
    if hidden > 0:
        table.caption = f"... and {hidden} more decisions (use --json for all)"
    return table
