"""audit entries carry their object's organisation; the chain head counts its entries

``audit_entry_org`` names the organisations of each entry's object, so the log is listed by
the object's scope (a county auditor sees a city admin's change to a county car). Existing
entries are filled where the object can still be found: tables with ``org_id``, trip requests
by their agency, organisations by themselves, alerts and maintenance bills by their car.
``audit_chain_head.entry_count`` starts at the number of entries already chained.

Revision ID: 0013_audit_object_org
Revises: 0009_ingest_dirty_log
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_audit_object_org"
down_revision = "0009_ingest_dirty_log"
branch_labels = ("audit_object_org",)
depends_on = ("0004_compliance",)

#: Audit object types whose table is named differently.
TABLE_OF_TYPE = {"export": "compliance_export"}


def upgrade() -> None:
    op.create_table(
        "audit_entry_org",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["audit_entry.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("entry_id", "org_id"),
    )
    op.create_index("ix_audit_entry_org_org_id", "audit_entry_org", ["org_id"])
    with op.batch_alter_table("audit_chain_head") as batch_op:
        batch_op.add_column(sa.Column("entry_count", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute("UPDATE audit_chain_head SET entry_count = (SELECT count(*) FROM audit_entry)")
    _fill_object_orgs()


def _fill_object_orgs() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    types = {TABLE_OF_TYPE.get(t, t): t for t in _object_types()}
    for table, object_type in types.items():
        if table not in tables:
            continue
        columns = {c["name"] for c in inspector.get_columns(table)}
        join = ""
        if table == "organisation":
            org = "t.id"
        elif "org_id" in columns:
            org = "t.org_id"
        elif "agency_id" in columns:
            org = "t.agency_id"
        elif "vehicle_id" in columns:
            org, join = "v.org_id", " JOIN vehicle v ON v.id = t.vehicle_id"
        else:
            continue
        op.get_bind().execute(
            sa.text(
                f"INSERT INTO audit_entry_org (entry_id, org_id) SELECT a.id, {org} FROM audit_entry a "
                f'JOIN "{table}" t ON a.object_id = CAST(t.id AS VARCHAR(40)){join} '
                f"WHERE a.object_type = :object_type AND {org} IS NOT NULL"
            ),
            {"object_type": object_type},
        )


def _object_types() -> list[str]:
    return [row[0] for row in op.get_bind().execute(sa.text("SELECT DISTINCT object_type FROM audit_entry"))]


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_head") as batch_op:
        batch_op.drop_column("entry_count")
    op.drop_index("ix_audit_entry_org_org_id", table_name="audit_entry_org")
    op.drop_table("audit_entry_org")
