"""``fleet dispatch``: plan a day's trips from an instance file, with no database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dispatch.instance import InstanceError, load_instance
from dispatch.plan import Plan
from fleet.cli_input import file_argument

dispatch_app = typer.Typer(
    help="Dispatch: turn approved trip requests into a least-cost plan of pool and leased cars.",
    no_args_is_help=True,
)


@dispatch_app.command("solve")
def solve_command(
    instance_file: Annotated[Path, file_argument(
        "INSTANCE.json",
        "Instance file: travel, depots, vehicles, lessors (with tariffs) and requests; "
        "times in ISO-8601 with a UTC offset, e.g. 2026-11-03T08:30:00+08:00.",
    )],
    time_limit: Annotated[float, typer.Option(
        "--time-limit", min=0.1, max=3600,
        help="Seconds the optimiser may spend, model building included. Longer limits give "
             "cheaper plans; 10 s is plenty for a few hundred trips.",
    )] = 10.0,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the plan as JSON (for scripts) instead of readable tables.",
    )] = False,
) -> None:
    """Plan every trip in INSTANCE.json with pool cars or leased cars at least cost.

    Prints each car's route stop by stop (passengers of several requests may share a car),
    the trips that cannot be served and why, and a short explanation per trip, with the
    requests each shared its car with. Exit code 2 means a bad instance file.
    """
    from dispatch.solver import solve

    try:
        instance = load_instance(instance_file)
    except InstanceError as exc:
        err = Console(stderr=True, soft_wrap=True)
        err.print(f"[bold red]invalid instance[/] {instance_file}:", highlight=False)
        for message in exc.messages:
            err.print(f"  {message}", highlight=False, markup=False)
        raise typer.Exit(code=2) from None
    plan = solve(instance, time_limit_s=time_limit)
    if as_json:
        typer.echo(plan.model_dump_json(indent=2))
    else:
        _print_plan(plan)


def _print_plan(plan: Plan) -> None:
    console = Console()
    console.print(
        f"[bold]{plan.status}[/]: total {plan.total_cost_cny:.2f} CNY, "
        f"{len(plan.routes)} cars, {len(plan.unserved)} unserved, solved in {plan.solve_s:.1f} s"
    )
    routes = Table(title="Routes", show_lines=False)
    for column in ("vehicle", "kind", "stops (time, + boards, - alights)", "km", "cost CNY"):
        routes.add_column(column, justify="right" if column in ("km", "cost CNY") else "left")
    for route in plan.routes:
        stops = ", ".join(
            f"{'+' if stop.type == 'pickup' else '-'}{stop.request} {stop.start.strftime('%H:%M')}"
            for stop in route.stops
        )
        routes.add_row(route.vehicle, route.kind, stops, f"{route.km:.1f}", f"{route.cost_cny:.2f}")
    console.print(routes)
    if plan.unserved:
        unserved = Table(title="Unserved")
        unserved.add_column("request")
        unserved.add_column("reason")
        for item in plan.unserved:
            unserved.add_row(item.request, item.reason)
        console.print(unserved)
    explained = Table(title="Why each trip got its car")
    explained.add_column("request")
    explained.add_column("explanation")
    for request_id, text in plan.explanations.items():
        explained.add_row(request_id, text)
    console.print(explained)


def register(app: typer.Typer) -> None:
    """Add the ``dispatch`` sub-command group to the ``fleet`` command."""
    app.add_typer(dispatch_app, name="dispatch")
