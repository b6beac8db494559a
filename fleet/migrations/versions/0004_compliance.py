"""compliance: audit chain head, alert review steps, expense imports and records, exports

Revision ID: 0004_compliance
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import fleet.models.common

revision = "0004_compliance"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_entry_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("updated_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Start the head at the newest existing entry, so that a database with history keeps its chain.
    op.execute(
        "INSERT INTO audit_chain_head (id, last_entry_id, last_hash, updated_at) "
        f"SELECT 1, COALESCE(MAX(id), 0), COALESCE((SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1), "
        f"'{GENESIS_HASH}'), CURRENT_TIMESTAMP FROM audit_entry"
    )
    op.create_table(
        "alert_review_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_review_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_review_step_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "expense_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("flagged_count", sa.Integer(), nullable=False),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("imported_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("expense_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expense_import_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_expense_import_org_id"), ["org_id"], unique=False)

    op.create_table(
        "expense_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("plate", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("place_lat", sa.Float(), nullable=True),
        sa.Column("place_lon", sa.Float(), nullable=True),
        sa.Column("fuel_l", sa.Float(), nullable=True),
        sa.Column("energy_kwh", sa.Float(), nullable=True),
        sa.Column("amount_cny", sa.Float(), nullable=False),
        sa.Column("odometer_km", sa.Float(), nullable=True),
        sa.Column("card_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["expense_import.id"]),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"]),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "plate", "occurred_at", name="uq_expense_kind_plate_time"),
    )
    with op.batch_alter_table("expense_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expense_record_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expense_record_plate"), ["plate"], unique=False)
        batch_op.create_index(batch_op.f("ix_expense_record_vehicle_id"), ["vehicle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expense_record_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "compliance_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("archive_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("compliance_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_export_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_table("compliance_export")
    op.drop_table("expense_record")
    op.drop_table("expense_import")
    op.drop_table("alert_review_step")
    op.drop_table("audit_chain_head")
