"""user.token_version, never-reused user ids on SQLite, and login_throttle

Tokens carry the user's token version: raising it revokes them. SQLite reused the id of a
deleted newest user; the user table is rebuilt with AUTOINCREMENT so ids are never reused
(PostgreSQL sequences never reuse them). login_throttle counts failed logins per username
and per client address for every server process.

Revision ID: 0011_user_tokens_login_throttle
Revises: 0009_ingest_dirty_log
"""

import sqlalchemy as sa
from alembic import op

import fleet.models.common

revision = "0011_user_tokens_login_throttle"
down_revision = "0009_ingest_dirty_log"
branch_labels = None
depends_on = None


def _rebuild_on_sqlite() -> str:
    """SQLite changes AUTOINCREMENT only by a table rebuild; PostgreSQL alters in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table(
        "user", recreate=_rebuild_on_sqlite(), table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", fleet.models.common.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", fleet.models.common.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table(
        "user", recreate=_rebuild_on_sqlite(), table_kwargs={"sqlite_autoincrement": False}
    ) as batch_op:
        batch_op.drop_column("token_version")
