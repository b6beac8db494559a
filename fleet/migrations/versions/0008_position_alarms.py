"""position.alarms: the terminal's tamper alarm flags kept with each fix

Revision ID: 0008_position_alarms
Revises: 0007_ingest_dirty
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_position_alarms"
down_revision = "0007_ingest_dirty"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alarms", sa.SmallInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.drop_column("alarms")
