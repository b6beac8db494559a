"""ingest: device_state (online status and newest fix of each GPS terminal)

Revision ID: 0006_ingest
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import fleet.models.common

revision = "0006_ingest"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_state",
        sa.Column("device_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=True),
        sa.Column("status_at", fleet.models.common.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_position_at", fleet.models.common.UTCDateTime(timezone=True), nullable=True),
        sa.Column("power_cut", sa.Boolean(), nullable=False),
        sa.Column("antenna_cut", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"]),
        sa.PrimaryKeyConstraint("device_id"),
    )
    with op.batch_alter_table("device_state", schema=None) as batch_op:
        batch_op.create_index("ix_device_state_vehicle_id", ["vehicle_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_state", schema=None) as batch_op:
        batch_op.drop_index("ix_device_state_vehicle_id")
    op.drop_table("device_state")
