"""ingest_dirty: vehicles whose newly stored positions still await alert evaluation

Revision ID: 0007_ingest_dirty
Revises: 0006_ingest
"""

import sqlalchemy as sa
from alembic import op

import fleet.models.common

revision = "0007_ingest_dirty"
down_revision = "0006_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_dirty",
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("start_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("marked_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"]),
        sa.PrimaryKeyConstraint("vehicle_id"),
    )
    with op.batch_alter_table("ingest_dirty", schema=None) as batch_op:
        batch_op.create_index("ix_ingest_dirty_marked_at", ["marked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingest_dirty", schema=None) as batch_op:
        batch_op.drop_index("ix_ingest_dirty_marked_at")
    op.drop_table("ingest_dirty")
