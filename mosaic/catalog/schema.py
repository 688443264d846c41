"""The catalog's tables (SQLAlchemy Core). The same schema runs on SQLite and PostgreSQL.

Alembic migrations in `migrations/versions/` create these tables; a change here needs a new
migration (`alembic revision --autogenerate` compares against this metadata).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
    literal_column,
)

from mosaic.imaging import colour_cells

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
    # The library's order: when the photo was taken (EXIF, local time as the camera had it), else when it was
    # uploaded (UTC); naive, so the two sort together. Set when stored, moved to the capture time when harvested.
    Column("shot_at", DateTime()),
    # In the trash since (hidden from every listing and search); purged after MOSAIC_TRASH_DAYS or when asked.
    Column("deleted_at", DateTime(timezone=True)),
    Column("purge_requested_at", DateTime(timezone=True)),
    # Keyset pagination of the library, newest first, over the photos not in the trash.
    Index("ix_images_library", "shot_at", "id", sqlite_where=literal_column("deleted_at IS NULL"),
          postgresql_where=literal_column("deleted_at IS NULL")),
    Index("ix_images_trash", "deleted_at", "id", sqlite_where=literal_column("deleted_at IS NOT NULL"),
          postgresql_where=literal_column("deleted_at IS NOT NULL")),
)

exif = Table(
    "exif",
    metadata,
    _image_fk(),
    Column("make", String(128), index=True),  # normalised for grouping ("Nikon")
    Column("make_raw", String(128)),
    Column("model", String(128)),
    Column("software", String(255)),
    Column("bits_per_sample", Integer),
    Column("image_width", Integer),
    Column("image_height", Integer),
    Column("description", Text),
    Column("orientation", Integer),
    Column("copyright", String(255)),
    Column("taken_at", DateTime(timezone=False)),  # DateTimeOriginal, else DateTime: the date to sort by
    Column("datetime", DateTime(timezone=False)),
    Column("datetime_original", DateTime(timezone=False)),
    Column("datetime_digitized", DateTime(timezone=False)),
    Column("subsec_time_original", String(16)),  # digits as written: "05" is not "5"
    Column("exposure_time", Float),
    Column("f_number", Float),
    Column("exposure_program", String(64)),
    Column("iso", Integer),
    Column("subject_distance", Float),
    Column("exposure_bias", Float),
    Column("flash", Integer),  # the raw EXIF bit field
    Column("flash_fired", Boolean),
    Column("flash_returned_light", String(64)),
    Column("flash_mode", String(64)),
    Column("metering_mode", String(64)),
    Column("focal_length", Float),
    Column("focal_length_35mm", Integer),
    Column("gps_latitude", Float),  # decimal degrees, negative south
    Column("gps_longitude", Float),  # decimal degrees, negative west
    Column("gps_latitude_degrees", Float),
    Column("gps_latitude_minutes", Float),
    Column("gps_latitude_seconds", Float),
    Column("gps_latitude_ref", String(1)),
    Column("gps_longitude_degrees", Float),
    Column("gps_longitude_minutes", Float),
    Column("gps_longitude_seconds", Float),
    Column("gps_longitude_ref", String(1)),
    Column("gps_altitude", Float),  # metres, negative below sea level
    Column("gps_dop", Float),
    Column("lens_make", String(128)),
    Column("lens_model", String(255)),
    Column("lens_min_focal", Float),
    Column("lens_max_focal", Float),
    Column("lens_min_fnumber", Float),
    Column("lens_max_fnumber", Float),
    Column("focal_plane_x_resolution", Float),
    Column("focal_plane_y_resolution", Float),
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
    Column("name", String(16)),  # nearest named colour, for search by name
)
# Colour search narrows palettes by name bucket or by sRGB cell (mosaic/imaging/colour_cells.py) before exact
# CIEDE2000. Both indexes carry what the first pass reads (Lab, share, image), so it never visits the table.
_STEP, _LEVELS = literal_column(str(colour_cells.STEP), Integer), literal_column(str(colour_cells.LEVELS), Integer)
colour_cell = ((colours.c.red // _STEP) * literal_column(str(colour_cells.LEVELS ** 2), Integer)
               + (colours.c.green // _STEP) * _LEVELS + colours.c.blue // _STEP)
_COVERED = (colours.c.share, colours.c.lab_l, colours.c.lab_a, colours.c.lab_b, colours.c.image_id)
Index("ix_colours_cell", colour_cell, *_COVERED)
Index("ix_colours_name", colours.c.name, *_COVERED)

objects = Table(
    "objects",
    metadata,
    _image_fk(),
    Column("rank", Integer, primary_key=True),  # 0 = highest score
    Column("label", String(64), nullable=False),  # COCO label
    Column("score", Float, nullable=False),
    # Box corners as fractions of the (oriented) image's width and height.
    Column("x_min", Float, nullable=False),
    Column("y_min", Float, nullable=False),
    Column("x_max", Float, nullable=False),
    Column("y_max", Float, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    _image_fk(),
    Column("label", String(128), primary_key=True),
    Column("source", String(16), primary_key=True),  # detector | scene | dataset | user
    Column("score", Float),
    # By label, then photo: the dashboards count each label's photos in index order, and read the sources too.
    Index("ix_tags_label_image_source", "label", "image_id", "source"),
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
    Column("city_distance_km", Float),
)

renditions = Table(
    "renditions",
    metadata,
    _image_fk(),
    Column("name", String(16), primary_key=True),  # thumb | preview | ...
    Column("object_key", String(255), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("mime", String(32), nullable=False),
)

features = Table(
    "features",
    metadata,
    _image_fk(),
    Column("name", String(32), primary_key=True),  # exif | colours | objects | scenes | ...
    Column("version", String(64), nullable=False),  # what made it: code version and model name
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Set when the step raised on this photo (the photo keeps every other feature); re-run by reprocess --stale.
    Column("error", Text),
    Index("ix_features_failed", "name", sqlite_where=literal_column("error IS NOT NULL"),
          postgresql_where=literal_column("error IS NOT NULL")),
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

# What the running workers make now, per feature: a feature row whose version differs is stale.
pipeline_versions = Table(
    "pipeline_versions",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Why the workers cannot make this feature now (a model that failed to load), or NULL when they can.
    Column("degraded", Text),
)

# -- imports (gather) --------------------------------------------------------------------------

# One row per import run (a dataset folder, a URL list, a folder): its progress lives here, not
# in a process's memory, so any process and any restart can report it.
imports = Table(
    "imports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # unsplash | urls | dir
    Column("source", Text, nullable=False),  # the folder or file imported (display only)
    Column("state", String(16), nullable=False),  # running | completed | failed
    Column("total", Integer, nullable=False, default=0),
    Column("stored", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),  # already stored by an earlier run
    Column("failed", Integer, nullable=False, default=0),
    Column("bad_rows", Integer, nullable=False, default=0),
    Column("message", Text),
    Column("batch_id", String(32)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every remote original Mosaic was asked to fetch: what makes a re-run skip the stored ones and
# retry the failed ones.
downloads = Table(
    "downloads",
    metadata,
    Column("url_sha256", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("state", String(16), nullable=False),  # stored | duplicate | failed
    Column("image_id", String(32), ForeignKey("images.id", ondelete="SET NULL")),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A dataset's own description of a photo (Unsplash Lite/Full): kept apart from what the harvest
# worker extracts from the file, so neither silently overwrites the other.
dataset_photos = Table(
    "dataset_photos",
    metadata,
    Column("dataset", String(32), primary_key=True),  # unsplash
    Column("photo_id", String(64), primary_key=True),
    Column("image_id", String(32), ForeignKey("images.id", ondelete="SET NULL"), index=True),
    Column("url", Text),  # photo_image_url
    Column("page_url", Text),
    Column("submitted_at", DateTime(timezone=False)),
    Column("width", Integer),
    Column("height", Integer),
    Column("aspect_ratio", Float),
    Column("description", Text),
    Column("ai_description", Text),
    Column("photographer_username", String(255)),
    Column("photographer_name", String(255)),
    Column("exif_make", String(128)),
    Column("exif_model", String(128)),
    Column("exif_iso", Integer),
    Column("exif_aperture", Float),
    Column("exif_focal_length", Float),
    Column("exif_exposure_time", String(32)),  # as published: "1/250"
    Column("location_name", Text),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("country", String(128)),
    Column("city", String(128)),
    Column("landmark", String(255)),
    Column("landmark_latitude", Float),
    Column("landmark_longitude", Float),
    Column("blur_hash", String(64)),
    Column("views", BigInteger),
    Column("downloads", BigInteger),
    Column("release", String(64)),  # which import saw it last
    Column("gone_at", DateTime(timezone=True)),  # absent from a newer release (kept, not deleted)
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

dataset_keywords = Table(
    "dataset_keywords",
    metadata,
    Column("dataset", String(32), primary_key=True),
    Column("photo_id", String(64), primary_key=True),
    Column("keyword", String(255), primary_key=True),
    Column("confidence", Float),  # the best of the dataset's AI confidences
    Column("suggested_by_user", Boolean),
)

dataset_colours = Table(
    "dataset_colours",
    metadata,
    Column("dataset", String(32), primary_key=True),
    Column("photo_id", String(64), primary_key=True),
    Column("hex", String(7), primary_key=True),
    Column("red", Integer),
    Column("green", Integer),
    Column("blue", Integer),
    Column("keyword", String(64)),
    Column("coverage", Float),
    Column("score", Float),
)

# -- discovery (recommend) ------------------------------------------------------------------------

feedback = Table(
    "feedback",
    metadata,
    Column("profile_id", String(32), ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("image_id", String(32), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
    Column("vote", String(8), nullable=False),  # like | dislike
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Duplicate groups are computed from fingerprints; a group a user has looked at and settled is
# remembered by its members, so it stays settled until a new copy joins it.
duplicate_resolutions = Table(
    "duplicate_resolutions",
    metadata,
    Column("group_id", String(64), primary_key=True),  # sha256 of the sorted member ids
    Column("best", String(32), nullable=False),
    Column("members", JSON, nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=False),
)

albums = Table(
    "albums",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

album_photos = Table(
    "album_photos",
    metadata,
    Column("album_id", String(32), ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True),
    Column("image_id", String(32), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

# -- search by words (recommend/text_search.py, mosaic/catalog/documents.py) -----------------------------------
# One document per photo, rebuilt when what it is made of changes. The full-text indexes are each engine's own
# and live in the migrations only: on PostgreSQL stored tsvector columns body_words and weak_words with GIN
# indexes (0011), on SQLite the FTS5 table `search_fts` (external content: rowid = id, kept in step by triggers).
# Only photos outside the trash have one, and it carries the photo's shot_at: search pages through the documents
# alone, in the library's order, without reading images for each match (migration 0011).
search_documents = Table(
    "search_documents",
    metadata,
    # An integer key: SQLite FTS5 addresses rows by an integer rowid, and VACUUM keeps an INTEGER PRIMARY KEY.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("image_id", String(32), ForeignKey("images.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("body", Text, nullable=False),  # every word the photo is searched by (normalised)
    Column("weak", Text, nullable=False),  # scene labels the classifier was unsure of: found, ranked low
    Column("shot_at", DateTime()),  # images.shot_at, copied when the document is written
    Index("ix_search_documents_order", "shot_at", "image_id"),
)
