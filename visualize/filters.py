"""The dashboard filters (`from`, `to`, `country`, `make`, `tag` query parameters), built into one WHERE clause.

Every chart restricts its rows with `Filters.restrict(<an image id column>)`: no filter gives `TRUE`; any
filter gives `image_id IN (SELECT images.id ... WHERE <all filters>)`, the same portable SQL on SQLite and
PostgreSQL. Dates filter on the photo's date: its capture date (EXIF `taken_at`), else its upload date;
`to` is inclusive (the whole day).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, true

from mosaic.catalog.schema import exif, images, places, tags

PARAMETERS = ("from", "to", "country", "make", "tag")
LAST_DAY = date.max
MAX_TEXT = 200  # a country, make or tag longer than this names nothing in the catalog


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    country: str | None = None  # a country name or a two-letter code, any case
    make: str | None = None  # a normalised camera make, any case
    tag: str | None = None  # a tag label, any source

    @classmethod
    def from_args(cls, args) -> Filters:
        """From request query parameters; ValueError names the bad one."""
        values = {}
        for name, field in (("from", "date_from"), ("to", "date_to")):
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    values[field] = date.fromisoformat(raw[:10])
                except ValueError:
                    raise ValueError(f"`{name}` must be a date like 2024-06-01, not {raw[:40]!r}") from None
                if values[field] >= LAST_DAY:  # `to` is inclusive: the day after it must exist
                    raise ValueError(f"`{name}` must be a date before {LAST_DAY.isoformat()}")
        for name in ("country", "make", "tag"):
            raw = (args.get(name) or "").strip()
            if len(raw) > MAX_TEXT or not raw.isprintable():  # PostgreSQL refuses a NUL in a string outright
                raise ValueError(f"`{name}` must be printable text of at most {MAX_TEXT} characters")
            if raw:
                values[name] = raw
        filters = cls(**values)
        if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
            raise ValueError("`from` is after `to`")
        return filters

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def key(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))

    def as_params(self) -> dict[str, str]:
        """The query parameters that give these filters back (for links)."""
        pairs = zip(PARAMETERS, self.key(), strict=True)
        return {name: (value.isoformat() if isinstance(value, date) else value) for name, value in pairs if value}

    def conditions(self) -> list[ColumnElement]:
        """The conditions on images joined (outer) to exif and places."""
        conditions = []
        if self.date_from:
            conditions.append(_photo_date_at_least(datetime.combine(self.date_from, time())))
        if self.date_to:
            conditions.append(~_photo_date_at_least(datetime.combine(self.date_to + timedelta(days=1), time())))
        if self.country:
            conditions.append(or_(func.lower(places.c.country) == self.country.lower(),
                                  places.c.country_code == self.country.upper()))
        if self.make:
            conditions.append(func.lower(exif.c.make) == self.make.lower())
        if self.tag:
            conditions.append(exists().where(tags.c.image_id == images.c.id,
                                             func.lower(tags.c.label) == self.tag.lower()))
        return conditions

    def image_ids(self) -> Select:
        """SELECT images.id of the photos these filters keep."""
        joined = images.outerjoin(exif, exif.c.image_id == images.c.id).outerjoin(
            places, places.c.image_id == images.c.id)
        return select(images.c.id).select_from(joined).where(*self.conditions())

    def restrict(self, image_id: ColumnElement) -> ColumnElement:
        """The WHERE condition keeping only filtered photos, on any column holding an image id."""
        if not self.active:
            return true()
        return image_id.in_(self.image_ids())


NONE = Filters()


def _photo_date_at_least(moment: datetime) -> ColumnElement:
    # The capture date when known, else the upload date. Written without COALESCE over the two
    # columns: taken_at is a naive local time, created_at a UTC timestamp (timestamptz on PostgreSQL).
    return or_(
        and_(exif.c.taken_at.is_not(None), exif.c.taken_at >= moment),
        and_(exif.c.taken_at.is_(None), images.c.created_at >= moment.replace(tzinfo=UTC)),
    )
