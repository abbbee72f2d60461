"""content: survey ownership and dates, uploaded flow files, consultations and opinions, reform documents

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_meta',
    sa.Column('flow_id', sa.String(length=40), nullable=False),
    sa.Column('owner_unit', sa.String(length=40), nullable=True),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('flow_id', name=op.f('pk_flow_meta'))
    )
    op.create_index('ix_flow_meta_owner_unit', 'flow_meta', ['owner_unit'], unique=False)
    op.create_table('flow_files',
    sa.Column('flow_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('flow_id', 'version', name=op.f('pk_flow_files'))
    )
    op.create_table('consultations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('document_url', sa.String(length=500), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('document_type', sa.String(length=8), nullable=True),
    sa.Column('document_name', sa.String(length=200), nullable=True),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations'))
    )
    op.create_index('ix_consultations_unit_code', 'consultations', ['unit_code'], unique=False)
    op.create_table('consultation_opinions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('consultation_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.String(length=20), nullable=False),
    sa.Column('comments', sa.Text(), nullable=True),
    sa.Column('publish_consent', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'],
                            name=op.f('fk_consultation_opinions_consultation_id_consultations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_opinions'))
    )
    op.create_index('ix_consultation_opinions_consultation_id', 'consultation_opinions', ['consultation_id'],
                    unique=False)
    op.create_table('documents',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('file_type', sa.String(length=8), nullable=False),
    sa.Column('download_name', sa.String(length=200), nullable=False),
    sa.Column('uploaded_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    op.create_index('ix_documents_unit_code_year', 'documents', ['unit_code', 'year'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_documents_unit_code_year', table_name='documents')
    op.drop_table('documents')
    op.drop_index('ix_consultation_opinions_consultation_id', table_name='consultation_opinions')
    op.drop_table('consultation_opinions')
    op.drop_index('ix_consultations_unit_code', table_name='consultations')
    op.drop_table('consultations')
    op.drop_table('flow_files')
    op.drop_index('ix_flow_meta_owner_unit', table_name='flow_meta')
    op.drop_table('flow_meta')
