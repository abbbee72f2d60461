"""questions forwarded to officials

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qa_tickets',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('respondent_id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('message_key', sa.String(length=160), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=True),
    sa.Column('topic', sa.String(length=80), nullable=True),
    sa.Column('candidates', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['respondent_id'], ['respondents.id'], name=op.f('fk_qa_tickets_respondent_id_respondents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_tickets'))
    )
    op.create_index('ix_qa_tickets_status_unit', 'qa_tickets', ['status', 'unit_code'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_qa_tickets_status_unit', table_name='qa_tickets')
    op.drop_table('qa_tickets')
