"""inbox order across processes: the sender's key on each event

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rows recorded before this column are handled as before (alone, by whoever queued them)
    op.add_column('inbox', sa.Column('sender_key', sa.String(length=32), nullable=True))
    op.create_index('ix_inbox_sender', 'inbox', ['sender_key', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbox_sender', table_name='inbox')
    with op.batch_alter_table('inbox') as batch:
        batch.drop_column('sender_key')
