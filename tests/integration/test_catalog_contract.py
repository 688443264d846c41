"""The catalog's migrations and typed columns, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError

from mosaic.catalog import check, open_catalog, upgrade
from mosaic.catalog.images import image_details, new_id, now, replace_children, set_state
from mosaic.catalog.schema import colours, exif, images, metadata


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}" if request.param == "sqlite" else request.getfixturevalue(
        "postgres_database")
    opened = open_catalog(url)
    upgrade(opened)
    yield opened
    opened.dispose()


def _image(**values) -> dict:
    stamp = now()
    return {"id": new_id(), "sha256": "ab" * 32, "object_key": "originals/ab/ab/" + "ab" * 32, "source": "upload",
            "original_name": "a.jpg", "bytes": 5_000_000_000, "mime": "image/jpeg", "state": "stored",
            "created_at": stamp, "updated_at": stamp, **values}


def test_migrations_create_every_table_and_are_idempotent(engine):
    upgrade(engine)  # a second start changes nothing
    check(engine)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_numbers_and_dates_keep_their_types(engine):
    row = _image()
    taken = datetime(2014, 5, 3, 10, 20, 30)
    with engine.begin() as connection:
        connection.execute(insert(images).values(**row))
        replace_children(connection, exif, row["id"], [{"make": "Canon", "gps_latitude": -33.5, "gps_altitude": 12.25,
                                                        "iso": 800, "taken_at": taken}])
    with engine.connect() as connection:
        stored = connection.execute(select(images.c.bytes, images.c.created_at)).one()
        detail = connection.execute(select(exif)).mappings().one()
    assert stored.bytes == 5_000_000_000 and isinstance(stored.bytes, int)  # over 32 bits
    assert isinstance(stored.created_at, datetime)
    assert detail["gps_latitude"] == -33.5 and detail["iso"] == 800 and detail["taken_at"] == taken


def test_sha256_is_unique(engine):
    with engine.begin() as connection:
        connection.execute(insert(images).values(**_image()))
    with pytest.raises(IntegrityError):
        with engine.begin() as connection:
            connection.execute(insert(images).values(**_image()))


def test_children_are_replaced_not_doubled_and_details_gather_them(engine):
    row = _image()
    colour = {"hex": "#102030", "red": 16, "green": 32, "blue": 48, "lab_l": 12.0, "lab_a": -1.0, "lab_b": -12.0}
    with engine.begin() as connection:
        connection.execute(insert(images).values(**row))
        for _ in range(2):  # a retried job writes the same rows again
            replace_children(connection, colours, row["id"], [{"rank": 0, "share": 0.7, **colour},
                                                              {"rank": 1, "share": 0.3, **colour}])
        set_state(connection, row["id"], "harvested", width=4000, height=3000, pipeline_version=1)
    with engine.connect() as connection:
        details = image_details(connection, row["id"])
    assert details["state"] == "harvested" and (details["width"], details["height"]) == (4000, 3000)
    assert [c["share"] for c in details["colours"]] == [0.7, 0.3]
    assert details["exif"] is None and details["place"] is None and details["fingerprints"] == {}


def test_deleting_an_image_removes_its_children(engine):
    row = _image(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    with engine.begin() as connection:
        connection.execute(insert(images).values(**row))
        replace_children(connection, exif, row["id"], [{"make": "Nikon"}])
        connection.execute(images.delete().where(images.c.id == row["id"]))
    with engine.connect() as connection:
        assert connection.execute(select(exif)).first() is None


def test_migrations_match_the_schema_module(engine):
    """A column added to schema.py without a migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    # Expression indexes cannot be compared (SQLite does not reflect them, PostgreSQL reflects them in its own
    # spelling): they are checked by name instead.
    expression_indexes = {index.name for table in metadata.tables.values() for index in table.indexes
                          if any(not hasattr(part, "name") for part in index.expressions)}
    with engine.connect() as connection:
        differences = [difference for difference in compare_metadata(MigrationContext.configure(connection), metadata)
                       if not (difference[0] in ("add_index", "remove_index")
                               and difference[1].name in expression_indexes)
                       and not _full_text_index(difference)]
        present = {index["name"] for index in inspect(connection).get_indexes("colours")}
    assert differences == []
    assert expression_indexes <= present | _sqlite_expression_indexes(engine)


def _full_text_index(difference) -> bool:
    """Each engine's own full-text index over search_documents (migrations 0010, 0011), deliberately not in
    schema.py: SQLite's FTS5 table `search_fts` (and the shadow tables FTS5 makes for it), PostgreSQL's stored
    tsvector columns and their GIN indexes."""
    if difference[0] == "remove_table":
        return difference[1].name.startswith("search_fts")
    if difference[0] == "remove_index":
        return difference[1].name in ("ix_search_documents_body_words", "ix_search_documents_weak_words")
    if difference[0] == "remove_column":
        return difference[2] == "search_documents" and difference[3].name in ("body_words", "weak_words")
    return False


def _sqlite_expression_indexes(engine) -> set[str]:
    if engine.dialect.name != "sqlite":
        return set()
    with engine.connect() as connection:
        return set(connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars())
