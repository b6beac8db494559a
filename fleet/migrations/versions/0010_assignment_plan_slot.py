"""assignment.lease_slot: the leased car of the plan an assignment came from; trip_request.rider_id

``assignment.plan_id`` (added with the dispatch plans) becomes a declared column of the
model; the leased car an assignment had in its plan (``<lessor>:<class>:<n>``) was only
recoverable by reading the plan's stored JSON and is now stored beside it. The upgrade fills
it for existing leased assignments from their plan's routes. ``trip_request.rider_id`` names
the official who rides when someone else files the request (separation of duties: they may
not approve it); existing requests have none.

Revision ID: 0010_assignment_plan_slot
Revises: 0009_ingest_dirty_log
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_assignment_plan_slot"
down_revision = "0009_ingest_dirty_log"
branch_labels = None
depends_on = "0003_dispatch"

_assignment = sa.table(
    "assignment", sa.column("id", sa.Integer()), sa.column("request_id", sa.Integer()),
    sa.column("kind", sa.String()), sa.column("plan_id", sa.Integer()),
    sa.column("lease_slot", sa.String()),
)
_plan = sa.table("dispatch_plan", sa.column("id", sa.Integer()), sa.column("plan", sa.JSON()))


def _slots(plan_json: dict | None) -> dict[str, str]:
    """Instance request id (``R<id>``) -> leased car id of each leased route of a stored plan."""
    routes = ((plan_json or {}).get("plan") or {}).get("routes") or []
    return {stop["request"]: str(route["vehicle"])
            for route in routes if route.get("kind") == "lease" for stop in route.get("stops", [])}


def upgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_slot", sa.String(length=120), nullable=True))
    with op.batch_alter_table("trip_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rider_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_trip_request_rider_id", "user", ["rider_id"], ["id"])
        batch_op.create_index("ix_trip_request_rider_id", ["rider_id"], unique=False)
    conn = op.get_bind()
    leased = conn.execute(sa.select(_assignment.c.id, _assignment.c.request_id, _assignment.c.plan_id)
                          .where(_assignment.c.kind == "lease", _assignment.c.plan_id.is_not(None))).all()
    plans: dict[int, dict[str, str]] = {}
    for assignment_id, request_id, plan_id in leased:
        if plan_id not in plans:
            stored = conn.execute(sa.select(_plan.c.plan).where(_plan.c.id == plan_id)).scalar()
            plans[plan_id] = _slots(stored)
        slot = plans[plan_id].get(f"R{request_id}")
        if slot is not None:
            conn.execute(sa.update(_assignment).where(_assignment.c.id == assignment_id)
                         .values(lease_slot=slot))


def downgrade() -> None:
    with op.batch_alter_table("trip_request", schema=None) as batch_op:
        batch_op.drop_index("ix_trip_request_rider_id")
        batch_op.drop_constraint("fk_trip_request_rider_id", type_="foreignkey")
        batch_op.drop_column("rider_id")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("lease_slot")
