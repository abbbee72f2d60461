"""analytics: quality-control overrides

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qc_overrides',
    sa.Column('response_id', sa.String(length=32), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_qc_overrides_response_id_responses')),
    sa.PrimaryKeyConstraint('response_id', name=op.f('pk_qc_overrides'))
    )


def downgrade() -> None:
    op.drop_table('qc_overrides')
