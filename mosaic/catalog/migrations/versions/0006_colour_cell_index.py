"""colour search by sRGB cell; covering colour indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 02:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The same expression as mosaic.catalog.schema.colour_cell (16-level sRGB cells); a migration keeps its own copy
# so that later changes to the schema module cannot rewrite history.
CELL = '((red / 16) * 256 + (green / 16) * 16 + blue / 16)'  # PostgreSQL wants an expression in parentheses
COVERED = ['share', 'lab_l', 'lab_a', 'lab_b', 'image_id']


def upgrade() -> None:
    with op.batch_alter_table('colours', schema=None) as batch_op:
        batch_op.drop_index('ix_colours_name_share')
        batch_op.drop_index('ix_colours_lab_l')
    op.create_index('ix_colours_cell', 'colours', [sa.text(CELL), *COVERED], unique=False)
    op.create_index('ix_colours_name', 'colours', ['name', *COVERED], unique=False)


def downgrade() -> None:
    op.drop_index('ix_colours_name', table_name='colours')
    op.drop_index('ix_colours_cell', table_name='colours')
    with op.batch_alter_table('colours', schema=None) as batch_op:
        batch_op.create_index('ix_colours_lab_l', ['lab_l'], unique=False)
        batch_op.create_index('ix_colours_name_share', ['name', 'share'], unique=False)
