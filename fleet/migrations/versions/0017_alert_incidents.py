"""alert incidents: alert.incident_id

The alerts of one drive (the same trip) or one stop form one incident, named by its lowest
alert id: a drive both off hours and without an order is shown, exported and reviewed once,
while each kind stays a row of its own that can be filtered. Existing alerts are linked from
the trip or stop their evidence names.

Revision ID: 0017_alert_incidents
Revises: 0001
"""

import json
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0017_alert_incidents"
down_revision = "0001"
branch_labels = ("alert_incidents",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_alert_incident_id", ["incident_id"])
    connection = op.get_bind()
    groups: dict[tuple[int, str, int], list[int]] = defaultdict(list)
    for alert_id, vehicle_id, evidence in connection.execute(sa.text("SELECT id, vehicle_id, evidence FROM alert")):
        evidence = json.loads(evidence) if isinstance(evidence, str) else (evidence or {})
        for link in ("trip_id", "stop_id"):
            if isinstance(evidence.get(link), int):
                groups[(vehicle_id, link, evidence[link])].append(alert_id)
                break
    for ids in groups.values():
        if len(ids) > 1:
            connection.execute(sa.text("UPDATE alert SET incident_id = :first WHERE id IN :ids")
                               .bindparams(sa.bindparam("ids", expanding=True)),
                               {"first": min(ids), "ids": ids})


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_index("ix_alert_incident_id")
        batch_op.drop_column("incident_id")
