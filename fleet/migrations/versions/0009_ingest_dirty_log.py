"""ingest_dirty as a log: one row per vehicle per stored batch, deleted up to the id read

A merged row per vehicle could not be cleared while positions kept arriving during its
evaluation, so under a steady feed it grew to the vehicle's whole history. Pending windows
are carried over.

Revision ID: 0009_ingest_dirty_log
Revises: 0008_position_alarms
"""

import sqlalchemy as sa
from alembic import op

import fleet.models.common

revision = "0009_ingest_dirty_log"
down_revision = "0008_position_alarms"
branch_labels = None
depends_on = None


def _create(name: str, log: bool) -> None:
    columns = [
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("start_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("marked_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"]),
    ]
    if log:
        op.create_table(name, sa.Column("id", sa.Integer(), nullable=False), *columns,
                        sa.PrimaryKeyConstraint("id"), sqlite_autoincrement=True)
        op.create_index("ix_ingest_dirty_vehicle_id", name, ["vehicle_id"])
    else:
        op.create_table(name, *columns, sa.Column("generation", sa.Integer(), nullable=False),
                        sa.PrimaryKeyConstraint("vehicle_id"))
    op.create_index("ix_ingest_dirty_marked_at", name, ["marked_at"])


def upgrade() -> None:
    op.drop_index("ix_ingest_dirty_marked_at", table_name="ingest_dirty")
    op.rename_table("ingest_dirty", "ingest_dirty_merged")
    _create("ingest_dirty", log=True)
    op.execute("INSERT INTO ingest_dirty (vehicle_id, start_at, end_at, marked_at) "
               "SELECT vehicle_id, start_at, end_at, marked_at FROM ingest_dirty_merged")
    op.drop_table("ingest_dirty_merged")


def downgrade() -> None:
    op.drop_index("ix_ingest_dirty_marked_at", table_name="ingest_dirty")
    op.drop_index("ix_ingest_dirty_vehicle_id", table_name="ingest_dirty")
    op.rename_table("ingest_dirty", "ingest_dirty_log")
    _create("ingest_dirty", log=False)
    op.execute("INSERT INTO ingest_dirty (vehicle_id, start_at, end_at, marked_at, generation) "
               "SELECT vehicle_id, min(start_at), max(end_at), min(marked_at), 1 FROM ingest_dirty_log "
               "GROUP BY vehicle_id")
    op.drop_table("ingest_dirty_log")
