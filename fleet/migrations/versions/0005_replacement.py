"""replacement planning: policies, plans, maintenance costs, county filings and their steps

Revision ID: 0005_replacement
Revises: 0001
Create Date: 2026-11-27 21:10:40.147204
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import fleet.models.common

revision = '0005_replacement'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('replacement_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('start_year', sa.Integer(), nullable=False),
    sa.Column('years', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('policy_org_id', sa.Integer(), nullable=True),
    sa.Column('created_at', fleet.models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('replacement_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replacement_plan_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_replacement_plan_org_id'), ['org_id'], unique=False)

    op.create_table('replacement_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('models', sa.JSON(), nullable=False),
    sa.Column('updated_at', fleet.models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('replacement_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replacement_policy_org_id'), ['org_id'], unique=True)

    op.create_table('replacement_filing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', fleet.models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fleet.models.common.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['replacement_plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'year', name='uq_replacement_filing_org_year')
    )
    with op.batch_alter_table('replacement_filing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replacement_filing_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_replacement_filing_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_replacement_filing_state'), ['state'], unique=False)

    op.create_table('maintenance_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('incurred_on', sa.Date(), nullable=False),
    sa.Column('cost_cny', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', fleet.models.common.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('maintenance_cost', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_cost_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('replacement_filing_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', fleet.models.common.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['filing_id'], ['replacement_filing.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['replacement_plan.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('replacement_filing_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replacement_filing_step_filing_id'), ['filing_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('replacement_filing_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replacement_filing_step_filing_id'))

    op.drop_table('replacement_filing_step')
    with op.batch_alter_table('maintenance_cost', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_cost_vehicle_id'))

    op.drop_table('maintenance_cost')
    with op.batch_alter_table('replacement_filing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replacement_filing_state'))
        batch_op.drop_index(batch_op.f('ix_replacement_filing_plan_id'))
        batch_op.drop_index(batch_op.f('ix_replacement_filing_org_id'))

    op.drop_table('replacement_filing')
    with op.batch_alter_table('replacement_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replacement_policy_org_id'))

    op.drop_table('replacement_policy')
    with op.batch_alter_table('replacement_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replacement_plan_org_id'))
        batch_op.drop_index(batch_op.f('ix_replacement_plan_created_at'))

    op.drop_table('replacement_plan')
