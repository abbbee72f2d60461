"""respondents.last_seq goes: the outbox's highest sequence number is the truth, one write less per message

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('respondents') as batch:
        batch.drop_column('last_seq')


def downgrade() -> None:
    with op.batch_alter_table('respondents') as batch:
        batch.add_column(sa.Column('last_seq', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE respondents SET last_seq = COALESCE((SELECT max(seq) FROM outbox "
               "WHERE outbox.respondent_id = respondents.id), 0)")
