"""Reads of one vehicle's stored history for re-evaluation: its fixes (as a :class:`Track`),
its orders (as rule :class:`Orders`), and the trips, stops and alerts overlapping a window.

The statements are built once with bound parameters (``vid``, and UTC ``lo``/``hi``/``at``)
rather than per call: the evaluator runs them for every dirty vehicle of every round, and
building the expressions cost more than running them. An item overlaps [lo, hi) when it
starts inside it, or spans into it (an open item counts from its start).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Float, bindparam, func, literal, or_, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from fleet.models import Alert, Assignment, Position, RequestState, Trip, TripRequest
from fleet.models.common import UTCDateTime, as_utc
from fleet.models.operations import ALARM_ANTENNA_CUT, ALARM_POWER_CUT
from fleet.models.telemetry import Stop
from telematics.motion import Track
from telematics.rules.context import Orders
from telematics.rules.findings import ALERT_KINDS

#: Requests whose assignment covers the trip itself (no_order, out_of_area, route deviation).
USE_STATES = (RequestState.assigned, RequestState.in_progress, RequestState.completed)
#: Requests that cover movement outside working time.
HOURS_STATES = (RequestState.approved, RequestState.planned, *USE_STATES)

_VID = bindparam("vid")
_LO = bindparam("lo", type_=UTCDateTime())
_HI = bindparam("hi", type_=UTCDateTime())
_AT = bindparam("at", type_=UTCDateTime())


def _overlapping(start_col, end_col):  # type: ignore[no-untyped-def]
    return (start_col < _HI) & or_(func.coalesce(end_col, start_col) > _LO, start_col >= _LO)


_TS = col(Position.ts)
_FIXES_BEFORE = select(Position.ts).where(Position.vehicle_id == _VID, _TS < _AT).order_by(_TS.desc()).limit(2)
_FIXES_AFTER = select(Position.ts).where(Position.vehicle_id == _VID, _TS > _AT).order_by(_TS).limit(2)


class epoch_s(FunctionElement):  # noqa: N801 - named like the SQL function it stands for
    """A stored UTC timestamp as epoch seconds (float8), computed by the database: reading
    thousands of fixes, converting each timestamp in Python cost more than the query."""

    type = Float()
    inherit_cache = True


@compiles(epoch_s, "sqlite")
def _epoch_s_sqlite(element, compiler, **kw):  # type: ignore[no-untyped-def]
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds, plus the fraction as text.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {column}) AS REAL) + CAST(substr({column}, 20) AS REAL))"


@compiles(epoch_s)
def _epoch_s_default(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


_FIXES = (
    select(Position.id, epoch_s(Position.ts), Position.lat, Position.lon, Position.speed_kmh, Position.ignition,
           Position.alarms)
    .where(Position.vehicle_id == _VID, _TS >= _LO, _TS <= _HI)
    .order_by(_TS)
)
_ORDERS = (
    select(Assignment, TripRequest)
    .join(TripRequest, col(Assignment.request_id) == col(TripRequest.id))
    .where(Assignment.vehicle_id == _VID, col(TripRequest.state).in_(HOURS_STATES),
           col(Assignment.planned_pickup) <= _HI, col(Assignment.planned_dropoff) >= _LO)
    .order_by(col(Assignment.planned_pickup), col(Assignment.id))
)
_TRIPS = select(Trip).where(Trip.vehicle_id == _VID, col(Trip.first_position_id).is_not(None),
                            _overlapping(col(Trip.started_at), col(Trip.ended_at)))
_STOPS = select(Stop).where(Stop.vehicle_id == _VID, _overlapping(col(Stop.started_at), col(Stop.ended_at)))
_LATEST_STOP = select(Stop).where(Stop.vehicle_id == _VID).order_by(col(Stop.started_at).desc()).limit(1)
_LATEST_TRIP_END = select(func.max(Trip.ended_at)).where(Trip.vehicle_id == _VID,
                                                         col(Trip.first_position_id).is_not(None))
_FIX_SUMS = select(func.count(), func.sum(Position.lat), func.sum(Position.lon)).where(
    Position.vehicle_id == _VID, _TS >= _LO, _TS <= _HI)
_ALERTS = select(Alert).where(Alert.vehicle_id == _VID, col(Alert.kind).in_(ALERT_KINDS),
                              _overlapping(col(Alert.started_at), col(Alert.ended_at)))


def _extent_of(statement) -> Any:  # type: ignore[no-untyped-def]
    """(False, earliest start, latest end) of what ``statement`` selects."""
    model = statement.column_descriptions[0]["entity"]
    start, end = col(model.started_at), col(model.ended_at)
    return (select(literal(False), func.min(start), func.max(func.coalesce(end, start)))
            .where(*statement.whereclause.clauses))


#: Use orders overlap when their planned span, stretched by the longest overrun, does: their
#: planned drop-off is compared with ``olo`` (``lo`` less that overrun).
_EXTENT = union_all(
    _extent_of(_TRIPS), _extent_of(_STOPS), _extent_of(_ALERTS),
    select(literal(True), func.min(Assignment.planned_pickup), func.max(Assignment.planned_dropoff))
    .join(TripRequest, col(Assignment.request_id) == col(TripRequest.id))
    .where(Assignment.vehicle_id == _VID, col(TripRequest.state).in_(USE_STATES),
           col(Assignment.planned_pickup) < _HI,
           col(Assignment.planned_dropoff) > bindparam("olo", type_=UTCDateTime())),
)


def ts(seconds: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, tz=UTC)


class StoredHistory:
    """One vehicle's stored history; times in and out are epoch seconds (UTC)."""

    def __init__(self, session: Session, vehicle_id: int) -> None:
        self.session = session
        self.vid = vehicle_id

    def neighbours(self, at: float, before: bool) -> list[float]:
        """Event times of the (up to) two stored fixes nearest to ``at``, strictly before or
        after it, nearest first."""
        statement = _FIXES_BEFORE if before else _FIXES_AFTER
        return [as_utc(t).timestamp() for t in self.session.exec(statement, params={"vid": self.vid, "at": ts(at)})]

    def track(self, lo: float, hi: float) -> Track:
        """Every fix in [lo, hi], in event time, with its tamper alarms (read through the Core
        connection: plain rows, no ORM)."""
        rows = self.session.connection().execute(_FIXES, {"vid": self.vid, "lo": ts(lo), "hi": ts(hi)}).all()
        if not rows:
            return Track.empty()
        ids, t_s, lat, lon, speed, ignition, alarms = zip(*rows, strict=True)
        flags = np.array(alarms, dtype=np.int64)
        return Track(np.array(ids, dtype=np.int64), np.array(t_s, float), np.array(lat, float), np.array(lon, float),
                     np.array(speed, float), np.array(ignition, bool), (flags & ALARM_POWER_CUT) > 0,
                     (flags & ALARM_ANTENNA_CUT) > 0)

    def fix_sums(self, lo: float, hi: float) -> tuple[int, float, float]:
        """(count, sum of lat, sum of lon) of the fixes in [lo, hi], summed by the database."""
        count, lat, lon = self.session.execute(
            _FIX_SUMS, {"vid": self.vid, "lo": ts(lo), "hi": ts(hi)}).one()
        return int(count), float(lat or 0.0), float(lon or 0.0)

    def latest_stop(self) -> tuple[Stop | None, float | None]:
        """The vehicle's newest stored stop, and the end of its newest stored trip (epoch s)."""
        stop = self.session.exec(_LATEST_STOP, params={"vid": self.vid}).first()
        trip_end = self.session.execute(_LATEST_TRIP_END, {"vid": self.vid}).scalar()
        return stop, (as_utc(trip_end).timestamp() if trip_end is not None else None)

    def orders(self, lo: float, hi: float) -> Orders:
        """The assignments of requests approved or later planned to overlap [lo, hi]."""
        rows = list(self.session.exec(_ORDERS, params={"vid": self.vid, "lo": ts(lo), "hi": ts(hi)}))
        if not rows:
            return Orders.none()
        return Orders(
            request_id=np.array([r.id for _, r in rows], dtype=np.int64),
            start_s=np.array([a.planned_pickup.timestamp() for a, _ in rows]),
            end_s=np.array([a.planned_dropoff.timestamp() for a, _ in rows]),
            use=np.array([r.state in USE_STATES for _, r in rows], dtype=bool),
            hours=np.ones(len(rows), dtype=bool),
            origin_lat=np.array([r.origin_lat for _, r in rows]),
            origin_lon=np.array([r.origin_lon for _, r in rows]),
            destination_lat=np.array([r.destination_lat for _, r in rows]),
            destination_lon=np.array([r.destination_lon for _, r in rows]),
            round_trip=np.array([r.wait_and_return for _, r in rows], dtype=bool),
        )

    def extents(self, lo: float, hi: float, order_overrun_s: float) -> list[tuple[float, float]]:
        """(start, end) spans of the stored trips, stops and alerts overlapping [lo, hi), and
        of the use orders whose span stretched by ``order_overrun_s`` past the planned drop-off
        does (that stretch included), one per kind of item that has any (one round trip)."""
        params = {"vid": self.vid, "lo": ts(lo), "hi": ts(hi), "olo": ts(lo - order_overrun_s)}
        return [(as_utc(a).timestamp(), as_utc(b).timestamp() + (order_overrun_s if is_order else 0.0))
                for is_order, a, b in self.session.execute(_EXTENT, params).all() if a is not None]

    def trips(self, lo: float, hi: float) -> list[Trip]:
        return list(self.session.exec(_TRIPS, params={"vid": self.vid, "lo": ts(lo), "hi": ts(hi)}))

    def stops(self, lo: float, hi: float) -> list[Stop]:
        return list(self.session.exec(_STOPS, params={"vid": self.vid, "lo": ts(lo), "hi": ts(hi)}))

    def alerts(self, lo: float, hi: float) -> list[Alert]:
        return list(self.session.exec(_ALERTS, params={"vid": self.vid, "lo": ts(lo), "hi": ts(hi)}))
