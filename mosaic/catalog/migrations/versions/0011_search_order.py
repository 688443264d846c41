"""search pages in the library's order: documents carry shot_at, and only photos outside the trash have one;
on PostgreSQL each document's words are stored parsed (tsvector), indexed by GIN

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# PostgreSQL only, so not in schema.py (tests/integration/test_catalog_contract.py ignores them by these names):
# the parsed words of each text column, which search reads while it walks the documents (parsing them again for
# every document walked cost more than twice as much), and their GIN indexes, which replace 0010's.
PG_WORDS = {'body_words': 'body', 'weak_words': 'weak'}
OLD_INDEXES = {'ix_search_documents_body_tsv': 'body', 'ix_search_documents_weak_tsv': 'weak'}


def upgrade() -> None:
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shot_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_search_documents_order', ['shot_at', 'image_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for name, column in PG_WORDS.items():
            op.execute(f"ALTER TABLE search_documents ADD COLUMN {name} tsvector "
                       f"GENERATED ALWAYS AS (to_tsvector('simple', {column})) STORED")
            op.execute(f"CREATE INDEX ix_search_documents_{name} ON search_documents USING gin ({name})")
        for name in OLD_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    # Every photo's document written again, with its shot_at (and none for the trash); `mosaic reindex-search`
    # does the same later.
    from mosaic.catalog.documents import rebuild_all

    rebuild_all(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name, column in OLD_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON search_documents USING gin (to_tsvector('simple', {column}))")
        for name in PG_WORDS:
            op.execute(f"ALTER TABLE search_documents DROP COLUMN {name}")
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_order')
        batch_op.drop_column('shot_at')
