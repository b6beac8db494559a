"""dispatch plans, and assignment.plan_id

Revision ID: 0003_dispatch
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import fleet.models.common

revision = "0003_dispatch"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_cost_cny", sa.Float(), nullable=False),
        sa.Column("pool_count", sa.Integer(), nullable=False),
        sa.Column("lease_count", sa.Integer(), nullable=False),
        sa.Column("pool_available", sa.Integer(), nullable=False),
        sa.Column("unserved", sa.JSON(), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("solve_s", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", fleet.models.common.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dispatch_plan", schema=None) as batch_op:
        batch_op.create_index("ix_dispatch_plan_service_date", ["service_date"], unique=False)
        batch_op.create_index("ix_dispatch_plan_org_id", ["org_id"], unique=False)
        batch_op.create_index("ix_dispatch_plan_status", ["status"], unique=False)
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_assignment_plan_id", "dispatch_plan", ["plan_id"], ["id"])
        batch_op.create_index("ix_assignment_plan_id", ["plan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_plan_id")
        batch_op.drop_constraint("fk_assignment_plan_id", type_="foreignkey")
        batch_op.drop_column("plan_id")
    op.drop_table("dispatch_plan")
