"""The catalog's tables (SQLAlchemy Core). The same schema runs on SQLite and PostgreSQL.

Alembic migrations in `migrations/versions/` create these tables; a change here needs a new
migration (`alembic revision --autogenerate` compares against this metadata).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# Named constraints make migrations portable (SQLite batch mode needs names to alter them).
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _image_fk() -> Column:
    return Column("image_id", String(32), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)


images = Table(
    "images",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("object_key", String(255), nullable=False),
    Column("source", String(32), nullable=False),  # upload | url | unsplash | folder | sample
    Column("original_name", String(512)),  # display only: never used as a path
    Column("bytes", BigInteger, nullable=False),
    Column("mime", String(64), nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("state", String(16), nullable=False, index=True),  # stored|queued|harvested|indexed|failed
    Column("error", Text),
    Column("pipeline_version", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

exif = Table(
    "exif",
    metadata,
    _image_fk(),
    Column("make", String(128), index=True),  # normalised for grouping ("Nikon")
    Column("make_raw", String(128)),
    Column("model", String(128)),
    Column("software", String(255)),
    Column("orientation", Integer),
    Column("taken_at", DateTime(timezone=False)),
    Column("exposure_time", Float),
    Column("f_number", Float),
    Column("iso", Integer),
    Column("focal_length", Float),
    Column("gps_latitude", Float),
    Column("gps_longitude", Float),
    Column("gps_altitude", Float),
)

colours = Table(
    "colours",
    metadata,
    _image_fk(),
    Column("rank", Integer, primary_key=True),  # 0 = most of the image
    Column("hex", String(7), nullable=False),
    Column("red", Integer, nullable=False),
    Column("green", Integer, nullable=False),
    Column("blue", Integer, nullable=False),
    Column("lab_l", Float, nullable=False),
    Column("lab_a", Float, nullable=False),
    Column("lab_b", Float, nullable=False),
    Column("share", Float, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    _image_fk(),
    Column("label", String(128), primary_key=True),
    Column("source", String(16), primary_key=True),  # detector | scene | dataset | user
    Column("score", Float),
    Index("ix_tags_label", "label"),
)

hashes = Table(
    "hashes",
    metadata,
    _image_fk(),
    Column("kind", String(16), primary_key=True),  # phash | dhash | ...
    Column("value", String(64), nullable=False),  # hex bit string: 64-bit hashes overflow signed BIGINT
)

places = Table(
    "places",
    metadata,
    _image_fk(),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("altitude", Float),
    Column("country_code", String(2)),
    Column("country", String(128)),
    Column("city", String(128)),
)

batches = Table(
    "batches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

batch_files = Table(
    "batch_files",
    metadata,
    Column("batch_id", String(32), ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(512)),
    Column("status", String(16), nullable=False),  # stored | duplicate | rejected
    Column("image_id", String(32), ForeignKey("images.id", ondelete="SET NULL")),
    Column("duplicate_of", String(32)),
    Column("reason", Text),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("preferences", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
