"""What the command-line tools share when they read an option: times given with an offset,
and file arguments shown without a default."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

TIME_EXAMPLE = "2026-12-01T08:00:00+08:00"


def aware_time(option: str, value: str, accepted: str = "an ISO-8601 time") -> datetime:
    """``value`` read as an ISO-8601 time with a UTC offset; a ValueError naming ``option``
    (and saying what it accepts) when it is not one or has no offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option}: must be {accepted} such as {TIME_EXAMPLE}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{option}: give a UTC offset, e.g. {TIME_EXAMPLE}")
    return moment


def file_argument(metavar: str, help: str) -> Any:  # noqa: A002  (typer's own keyword)
    """A required file argument shown in the help as ``metavar``."""
    return typer.Argument(metavar=metavar, help=help, show_default=False)
