"""Hire windows of leased cars: the date-time ranges in which a car of a rental company is
hired to the platform (a long-term lease, or one day hire of a series, 08:00-18:00).

A leased car is judged by the compliance rules only inside its hire windows; outside them it
is the rental company's car, and its fixes are stored but raise nothing. A window either was
entered by hand (API, fleet document) or follows a confirmed lease assignment of the car
(``assignment_id``): from the planned pickup minus the lessor's lead to the planned drop-off
plus its return (:mod:`fleet.hire_windows`). Times are timezone-aware, stored in UTC.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, model_validator
from sqlmodel import Field, SQLModel

from fleet.models.common import time_field, utcnow

#: Longest single hire window (a long-term lease of several years), days.
MAX_HIRE_DAYS = 3660


class HireWindowBase(SQLModel):
    starts_at: datetime = time_field(description="Start of the hire (inclusive), timezone-aware.")
    ends_at: datetime = time_field(description="End of the hire (exclusive), timezone-aware; after starts_at.")
    note: str = Field("", max_length=200, description="E.g. the contract or day-hire number.")


class HireWindowCreate(HireWindowBase):
    starts_at: AwareDatetime = Field(description="Start of the hire (inclusive), with its offset.")
    ends_at: AwareDatetime = Field(description="End of the hire (exclusive), with its offset; after starts_at.")

    @model_validator(mode="after")
    def _order(self) -> "HireWindowCreate":
        check_hire_window(self)
        return self


class HireWindowPublic(HireWindowBase):
    id: int
    vehicle_id: int
    assignment_id: int | None
    created_at: datetime


class HireWindow(HireWindowBase, table=True):
    __tablename__ = "hire_window"
    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    assignment_id: int | None = Field(
        None, foreign_key="assignment.id", unique=True,
        description="The confirmed lease assignment this window follows; empty when entered by hand.")
    created_at: datetime = time_field(default_factory=utcnow)


def check_hire_window(window: HireWindowBase) -> None:
    """Order and length of a hire window; raises ``ValueError`` naming the field."""
    if window.ends_at <= window.starts_at:
        raise ValueError("ends_at: must be after starts_at")
    if (window.ends_at - window.starts_at).days > MAX_HIRE_DAYS:
        raise ValueError(f"ends_at: a hire window lasts at most {MAX_HIRE_DAYS} days")
