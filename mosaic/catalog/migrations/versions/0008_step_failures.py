"""a failed enrichment step is recorded on the photo; a worker records what it cannot make

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 18:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('features', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
    # Failed steps are counted by name on the status page: a partial index keeps that off the whole table.
    op.create_index('ix_features_failed', 'features', ['name'], unique=False,
                    sqlite_where=sa.text('error IS NOT NULL'), postgresql_where=sa.text('error IS NOT NULL'))
    with op.batch_alter_table('pipeline_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('degraded', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pipeline_versions', schema=None) as batch_op:
        batch_op.drop_column('degraded')
    op.drop_index('ix_features_failed', table_name='features')
    with op.batch_alter_table('features', schema=None) as batch_op:
        batch_op.drop_column('error')
