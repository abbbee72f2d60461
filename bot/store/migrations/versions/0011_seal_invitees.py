"""invitees' personal data sealed at rest: wider columns and identity digests

Revision ID: 0011
Revises: 0010

Rows already stored stay in clear text: the code reads values without the "v1:" prefix as they
are and hashes their identities when it needs them (bot/campaigns/privacy.py). The migration
cannot seal them itself: the key is the server's, not the database's.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_WIDER = (('name', 200, 900, False), ('address', 100, 200, True), ('phone', 20, 80, True), ('email', 200, 320, True))
_DIGESTS = ('address_digest', 'phone_digest', 'email_digest')


def upgrade() -> None:
    with op.batch_alter_table('campaign_invitees') as batch:
        for name, old, new, nullable in _WIDER:
            batch.alter_column(name, existing_type=sa.String(length=old), type_=sa.String(length=new),
                               existing_nullable=nullable)
        for name in _DIGESTS:
            batch.add_column(sa.Column(name, sa.String(length=64), nullable=True))


def downgrade() -> None:
    # sealed values do not fit the old widths: going back needs the invitees deleted first
    with op.batch_alter_table('campaign_invitees') as batch:
        for name in _DIGESTS:
            batch.drop_column(name)
        for name, old, new, nullable in _WIDER:
            batch.alter_column(name, existing_type=sa.String(length=new), type_=sa.String(length=old),
                               existing_nullable=nullable)
