"""shared rides: trip_request.exclusive (rides alone), organisation.share_within_agency,
assignment.reason (why the plan gave it its car, as a code and parameters)

Existing requests keep sharing allowed (exclusive false); existing organisations share across
agencies (share_within_agency false); existing assignments keep their explanation text and have
no reason.

Revision ID: 0014_shared_rides
Revises: 0009_ingest_dirty_log
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_shared_rides"
down_revision = "0009_ingest_dirty_log"
branch_labels = ("shared_rides",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trip_request") as batch_op:
        batch_op.add_column(sa.Column("exclusive", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("organisation") as batch_op:
        batch_op.add_column(sa.Column("share_within_agency", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("assignment") as batch_op:
        batch_op.add_column(sa.Column("reason", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assignment") as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("organisation") as batch_op:
        batch_op.drop_column("share_within_agency")
    with op.batch_alter_table("trip_request") as batch_op:
        batch_op.drop_column("exclusive")
