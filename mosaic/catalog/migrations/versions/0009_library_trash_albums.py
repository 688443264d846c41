"""the library: photos ordered by when they were taken, a trash, albums

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 21:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shot_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('purge_requested_at', sa.DateTime(timezone=True), nullable=True))
    # The capture time where EXIF has one, else the upload time in UTC, without a zone: they sort together.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE images SET shot_at = COALESCE((SELECT taken_at FROM exif WHERE exif.image_id = images.id), "
                   "images.created_at AT TIME ZONE 'UTC')")
    else:
        op.execute("UPDATE images SET shot_at = COALESCE((SELECT taken_at FROM exif WHERE exif.image_id = images.id), "
                   "datetime(images.created_at))")
    op.create_index('ix_images_library', 'images', ['shot_at', 'id'], unique=False,
                    sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_images_trash', 'images', ['deleted_at', 'id'], unique=False,
                    sqlite_where=sa.text('deleted_at IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NOT NULL'))
    op.create_table(
        'albums',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'album_photos',
        sa.Column('album_id', sa.String(length=32), nullable=False),
        sa.Column('image_id', sa.String(length=32), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['album_id'], ['albums.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('album_id', 'image_id'),
    )
    op.create_index('ix_album_photos_image_id', 'album_photos', ['image_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_album_photos_image_id', table_name='album_photos')
    op.drop_table('album_photos')
    op.drop_table('albums')
    op.drop_index('ix_images_trash', table_name='images')
    op.drop_index('ix_images_library', table_name='images')
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.drop_column('purge_requested_at')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('shot_at')
