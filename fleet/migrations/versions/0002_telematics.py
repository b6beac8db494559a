"""telematics: stops, speed zones, the official working calendar, one alert per identity

Revision ID: 0002_telematics
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import fleet.models.common

revision = "0002_telematics"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("started_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("position_count", sa.Integer(), nullable=False),
        sa.Column("first_position_id", sa.Integer(), nullable=False),
        sa.Column("last_position_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vehicle_id", "started_at", name="uq_stop_vehicle_start"),
    )
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.create_index("ix_stop_vehicle_id", ["vehicle_id"], unique=False)
        batch_op.create_index("ix_stop_started_at", ["started_at"], unique=False)

    op.create_table(
        "speed_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("limit_kmh", sa.Float(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("speed_zone", schema=None) as batch_op:
        batch_op.create_index("ix_speed_zone_org_id", ["org_id"], unique=False)

    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("is_working_day", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["year"], ["calendar_year.year"]),
        sa.PrimaryKeyConstraint("day"),
    )
    with op.batch_alter_table("calendar_day", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_day_year", ["year"], unique=False)

    # Re-evaluating a window updates an alert in place: one alert per vehicle, kind and start.
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(
            "uq_alert_vehicle_kind_start", ["vehicle_id", "kind", "started_at"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("uq_alert_vehicle_kind_start")
    with op.batch_alter_table("calendar_day", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_day_year")
    op.drop_table("calendar_day")
    op.drop_table("calendar_year")
    with op.batch_alter_table("speed_zone", schema=None) as batch_op:
        batch_op.drop_index("ix_speed_zone_org_id")
    op.drop_table("speed_zone")
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_index("ix_stop_started_at")
        batch_op.drop_index("ix_stop_vehicle_id")
    op.drop_table("stop")
