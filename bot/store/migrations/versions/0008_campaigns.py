"""campaigns: invitee lists, sends per round (idempotent), per-channel pacing slots

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('flow_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('send_from', sa.String(length=5), nullable=False),
    sa.Column('send_until', sa.String(length=5), nullable=False),
    sa.Column('weekdays_only', sa.Boolean(), nullable=False),
    sa.Column('reminder_after_days', sa.Integer(), nullable=False),
    sa.Column('max_reminders', sa.Integer(), nullable=False),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_table('campaign_units',
    sa.Column('campaign_id', sa.String(length=32), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_units_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'unit_code', name=op.f('pk_campaign_units'))
    )
    op.create_table('campaign_invitees',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('campaign_id', sa.String(length=32), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('address', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('respondent_id', sa.String(length=32), nullable=True),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_invitees_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_invitees')),
    sa.UniqueConstraint('code', name=op.f('uq_campaign_invitees_code'))
    )
    op.create_index('ix_campaign_invitees_campaign_unit', 'campaign_invitees', ['campaign_id', 'unit_code'],
                    unique=False)
    op.create_table('campaign_sends',
    sa.Column('invitee_id', sa.String(length=32), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('respondent_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invitee_id'], ['campaign_invitees.id'],
                            name=op.f('fk_campaign_sends_invitee_id_campaign_invitees')),
    sa.PrimaryKeyConstraint('invitee_id', 'round', name=op.f('pk_campaign_sends')),
    sa.UniqueConstraint('respondent_id', 'seq', name='uq_campaign_sends_respondent_seq')
    )
    op.create_index('ix_campaign_sends_campaign', 'campaign_sends', ['campaign_id'], unique=False)
    op.create_table('campaign_pace',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('next_slot', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_campaign_pace'))
    )


def downgrade() -> None:
    op.drop_table('campaign_pace')
    op.drop_index('ix_campaign_sends_campaign', table_name='campaign_sends')
    op.drop_table('campaign_sends')
    op.drop_index('ix_campaign_invitees_campaign_unit', table_name='campaign_invitees')
    op.drop_table('campaign_invitees')
    op.drop_table('campaign_units')
    op.drop_table('campaigns')
