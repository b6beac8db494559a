"""The assignments of one local day with their trip requests, for the driver's day and the
dispatcher's car card."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from fleet.models import Assignment, TripRequest


def assignments_of_day(session: Session, day_start: datetime, *conditions: Any) -> list[tuple[Assignment, TripRequest]]:
    """Assignments planned to pick up within the 24 hours from ``day_start`` (local midnight,
    timezone-aware) that meet ``conditions``, each with its request, by planned pickup."""
    statement = (
        select(Assignment, TripRequest)
        .join(TripRequest, col(TripRequest.id) == Assignment.request_id)
        .where(col(Assignment.planned_pickup) >= day_start)
        .where(col(Assignment.planned_pickup) < day_start + timedelta(days=1))
    )
    for condition in conditions:
        statement = statement.where(condition)
    return list(session.exec(statement.order_by(col(Assignment.planned_pickup))).all())
