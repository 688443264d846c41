"""search by words: one document per photo, a full-text index on each engine

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 22:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Not in schema.py (each engine's own; tests/integration/test_catalog_contract.py ignores them by these names).
PG_INDEXES = {'ix_search_documents_body_tsv': 'body', 'ix_search_documents_weak_tsv': 'weak'}
FTS_TABLE = 'search_fts'


def upgrade() -> None:
    op.create_table(
        'search_documents',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('image_id', sa.String(length=32), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('weak', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('image_id'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        for name, column in PG_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON search_documents USING gin (to_tsvector('simple', {column}))")
    else:
        # External content: the words live once, in search_documents; the triggers keep the index in step
        # (a photo deleted from images cascades to its document, and SQLite fires the delete trigger for it).
        op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(body, weak, content='search_documents', "
                   "content_rowid='id')")
        op.execute(f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON search_documents BEGIN "
                   f"INSERT INTO {FTS_TABLE}(rowid, body, weak) VALUES (new.id, new.body, new.weak); END")
        op.execute(f"CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON search_documents BEGIN "
                   f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body, weak) VALUES ('delete', old.id, old.body, "
                   "old.weak); END")
        op.execute(f"CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE ON search_documents BEGIN "
                   f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body, weak) VALUES ('delete', old.id, old.body, "
                   f"old.weak); INSERT INTO {FTS_TABLE}(rowid, body, weak) VALUES (new.id, new.body, new.weak); END")
    # The photos already in the catalog get their documents in 0011, once documents have every column.


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    else:
        for suffix in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    op.drop_table('search_documents')
