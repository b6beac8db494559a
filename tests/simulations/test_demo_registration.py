"""`fleet demo` is the live city's own sub-command: it arrives through the ``fleet.commands``
entry points like every other package's, and the web package registers only `serve`."""

from importlib.metadata import entry_points

import typer

import simulations.live
import web.cli


def _commands(register) -> list[str]:  # type: ignore[no-untyped-def]
    app = typer.Typer()
    register(app)
    return sorted(command.name or command.callback.__name__ for command in app.registered_commands)


def test_the_live_city_registers_demo_through_the_entry_points():
    registered = {entry.value: entry.name for entry in entry_points(group="fleet.commands")}
    assert "simulations.live:register" in registered
    assert _commands(simulations.live.register) == ["demo"]
    assert _commands(web.cli.register) == ["serve"]
