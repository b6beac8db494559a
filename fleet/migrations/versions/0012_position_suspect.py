"""position_suspect: fixes the GPS jump filter keeps out of the track (held, jump, marked);
device_state.dropped_fixes / last_dropped_at: dropped fixes per terminal

Revision ID: 0012_position_suspect
Revises: 0009_ingest_dirty_log
"""

import sqlalchemy as sa
from alembic import op

import fleet.models.common

revision = "0012_position_suspect"
down_revision = "0009_ingest_dirty_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "position_suspect",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("ts", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("fix", sa.JSON(), nullable=False),
        sa.Column("marked_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vehicle_id", "ts", name="uq_position_suspect_vehicle_ts"),
    )
    op.create_index("ix_position_suspect_vehicle_id", "position_suspect", ["vehicle_id"])
    op.create_index("ix_position_suspect_state", "position_suspect", ["state"])
    with op.batch_alter_table("device_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dropped_fixes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_dropped_at", fleet.models.common.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_state", schema=None) as batch_op:
        batch_op.drop_column("last_dropped_at")
        batch_op.drop_column("dropped_fixes")
    op.drop_index("ix_position_suspect_state", table_name="position_suspect")
    op.drop_index("ix_position_suspect_vehicle_id", table_name="position_suspect")
    op.drop_table("position_suspect")
