"""tags by label then photo, for the dashboards

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 03:00:00
"""

from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new index starts with label, so it serves every lookup the old one did.
    op.create_index('ix_tags_label_image_source', 'tags', ['label', 'image_id', 'source'], unique=False)
    op.drop_index('ix_tags_label', table_name='tags')


def downgrade() -> None:
    op.create_index('ix_tags_label', 'tags', ['label'], unique=False)
    op.drop_index('ix_tags_label_image_source', table_name='tags')
