"""platform channels: inbox, contacts, rotating tokens, outbox retry columns

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column('outbox', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox', sa.Column('parts_sent', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('outbox', sa.Column('platform_message_id', sa.String(length=100), nullable=True))
    op.create_table('inbox',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('message_key', sa.String(length=160), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox')),
    sa.UniqueConstraint('channel', 'message_key', name='uq_inbox_channel_key')
    )
    op.create_index('ix_inbox_status', 'inbox', ['status'], unique=False)
    op.create_table('contacts',
    sa.Column('respondent_id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=100), nullable=False),
    sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_token', sa.String(length=100), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['respondent_id'], ['respondents.id'], name=op.f('fk_contacts_respondent_id_respondents')),
    sa.PrimaryKeyConstraint('respondent_id', name=op.f('pk_contacts'))
    )
    op.create_table('channel_tokens',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_channel_tokens'))
    )


def downgrade() -> None:
    op.drop_table('channel_tokens')
    op.drop_table('contacts')
    op.drop_index('ix_inbox_status', table_name='inbox')
    op.drop_table('inbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('platform_message_id')
        batch.drop_column('parts_sent')
        batch.drop_column('next_attempt_at')
