"""dispatcher overrides: assignment.override_note, override_by, forced_reason, override_warnings

The dispatcher's own reason for changing an assignment's car or driver gets a column of its
own, so that accepting a plan or planning the day again (which note their moves in
``override_reason``) keeps it; a forced override keeps why it was forced and the rules it
breaks. Existing assignments have none of them.

Revision ID: 0015_dispatcher_override
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_dispatcher_override"
down_revision = "0001"
branch_labels = ("dispatcher_override",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignment") as batch_op:
        batch_op.add_column(sa.Column("override_note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("override_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("forced_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("override_warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assignment") as batch_op:
        batch_op.drop_column("override_warnings")
        batch_op.drop_column("forced_reason")
        batch_op.drop_column("override_by")
        batch_op.drop_column("override_note")
