"""named places: the offices, depots, sites, county seats and common destinations that
requesters pick a trip's origin and destination from

Revision ID: 0016_named_places
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from fleet.models.common import UTCDateTime

revision = "0016_named_places"
down_revision = "0001"
branch_labels = ("named_places",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("place") as batch_op:
        batch_op.create_index(batch_op.f("ix_place_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("place") as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_org_id"))
    op.drop_table("place")
