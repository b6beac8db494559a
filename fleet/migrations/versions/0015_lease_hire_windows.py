"""hire windows of leased cars: a table of date-time ranges replaces vehicle.lease_start/lease_end;
lessor.hire_lead_s and lessor.hire_return_s

A lease stored as whole dates cannot say a day hire (08:00-18:00). Each existing date-only
lease becomes one hire window of whole local days (display time zone, Asia/Shanghai by
default): from the local start of lease_start to the local end of lease_end (the next local
midnight). The date columns are dropped, so the windows are the one record of when a car is
hired. Existing lessors take the default lead and return times (empty columns). The downgrade
gives each leased car back the local dates its hand-entered windows span.

Revision ID: 0015_lease_hire_windows
Revises: 0001
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

from fleet.models.common import UTCDateTime, as_utc
from fleet.settings import get_settings

revision = "0015_lease_hire_windows"
down_revision = "0001"
branch_labels = ("lease_hire_windows",)
depends_on = None

_vehicle = sa.table("vehicle", sa.column("id", sa.Integer()), sa.column("ownership", sa.String()),
                    sa.column("lease_start", sa.Date()), sa.column("lease_end", sa.Date()))
_window = sa.table("hire_window", sa.column("id", sa.Integer()), sa.column("vehicle_id", sa.Integer()),
                   sa.column("assignment_id", sa.Integer()), sa.column("starts_at", UTCDateTime()),
                   sa.column("ends_at", UTCDateTime()), sa.column("note", sa.String()),
                   sa.column("created_at", UTCDateTime()))


def _tz() -> ZoneInfo:
    return get_settings().tz


def local_days(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The hire of the whole local days ``first`` to ``last``: from the local midnight that
    starts ``first`` to the one that ends ``last`` (aware)."""
    return datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz)


def upgrade() -> None:
    op.create_table(
        "hire_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"]),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id"),
    )
    with op.batch_alter_table("hire_window") as batch_op:
        batch_op.create_index("ix_hire_window_vehicle_id", ["vehicle_id"], unique=False)
    with op.batch_alter_table("lessor") as batch_op:
        batch_op.add_column(sa.Column("hire_lead_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("hire_return_s", sa.Float(), nullable=True))

    conn = op.get_bind()
    tz, now = _tz(), datetime.now(ZoneInfo("UTC"))
    leases = conn.execute(sa.select(_vehicle.c.id, _vehicle.c.lease_start, _vehicle.c.lease_end)
                          .where(_vehicle.c.ownership == "leased", _vehicle.c.lease_start.is_not(None),
                                 _vehicle.c.lease_end.is_not(None))).all()
    rows = []
    for vehicle_id, first, last in leases:
        starts_at, ends_at = local_days(first, max(first, last), tz)
        rows.append({"vehicle_id": vehicle_id, "assignment_id": None, "starts_at": starts_at,
                     "ends_at": ends_at, "note": f"lease {first.isoformat()} to {last.isoformat()}",
                     "created_at": now})
    if rows:
        conn.execute(sa.insert(_window), rows)
    with op.batch_alter_table("vehicle") as batch_op:
        batch_op.drop_column("lease_start")
        batch_op.drop_column("lease_end")


def downgrade() -> None:
    with op.batch_alter_table("vehicle") as batch_op:
        batch_op.add_column(sa.Column("lease_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("lease_end", sa.Date(), nullable=True))
    conn = op.get_bind()
    tz = _tz()
    spans = conn.execute(sa.select(_window.c.vehicle_id, sa.func.min(_window.c.starts_at),
                                   sa.func.max(_window.c.ends_at))
                         .where(_window.c.assignment_id.is_(None)).group_by(_window.c.vehicle_id)).all()
    for vehicle_id, starts_at, ends_at in spans:
        first, last = as_utc(_as_datetime(starts_at)), as_utc(_as_datetime(ends_at))
        conn.execute(sa.update(_vehicle).where(_vehicle.c.id == vehicle_id).values(
            lease_start=first.astimezone(tz).date(),
            lease_end=(last - timedelta(microseconds=1)).astimezone(tz).date()))
    with op.batch_alter_table("lessor") as batch_op:
        batch_op.drop_column("hire_return_s")
        batch_op.drop_column("hire_lead_s")
    with op.batch_alter_table("hire_window") as batch_op:
        batch_op.drop_index("ix_hire_window_vehicle_id")
    op.drop_table("hire_window")


def _as_datetime(value: datetime | str) -> datetime:
    """An aggregate's time: SQLite gives the stored text back, PostgreSQL a datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
