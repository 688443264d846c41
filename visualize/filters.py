"""The dashboard filters (`from`, `to`, `country`, `make`, `tag` query parameters), built into one WHERE clause.

Every chart restricts its rows with `Filters.restrict(<an image id column>)`: no filter gives `image_id NOT IN
(<the ids in the trash>)`; any filter gives `image_id IN (SELECT images.id ... WHERE <all filters>, not in the
trash)`, the same portable SQL on SQLite and
PostgreSQL. Dates filter on the photo's date: its capture date (EXIF `taken_at`), else its upload date;
`to` is inclusive (the whole day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from mosaic.catalog.schema import exif, images, places, tags
from mosaic.contract import Query

LAST_DAY = date.max
MAX_TEXT = 200  # a country, make or tag longer than this names nothing in the catalog
FIELDS = ("date_from", "date_to", "country", "make", "tag")


def _day(value):
    """A date, or the date part of a timestamp (`2024-02-01T00:00` is 2024-02-01)."""
    return value[:10] if isinstance(value, str) else value


Day = Annotated[date | None, BeforeValidator(_day)]
Text = Annotated[str | None, Field(max_length=MAX_TEXT)]


class Filters(Query):
    """The filters every chart takes, from the query string (`from`, `to`, `country`, `make`, `tag`)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, str_strip_whitespace=True)

    date_from: Day = Field(None, alias="from", description="only photos taken on or after this date")
    date_to: Day = Field(None, alias="to", description="only photos taken on or before this date (inclusive)")
    country: Text = Field(None, description="a country name or a two-letter code, any case")
    make: Text = Field(None, description="a camera make, any case")
    tag: Text = Field(None, description="a tag label, any source")

    @field_validator("date_from", "date_to")
    @classmethod
    def _before_the_last_day(cls, value: date | None) -> date | None:
        if value is not None and value >= LAST_DAY:  # `to` is inclusive: the day after it must exist
            raise ValueError(f"must be a date before {LAST_DAY.isoformat()}")
        return value

    @field_validator("country", "make", "tag")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and not value.isprintable():  # PostgreSQL refuses a NUL in a string outright
            raise ValueError("must be printable text")
        return value or None

    @model_validator(mode="after")
    def _in_order(self) -> Filters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("`from` is after `to`")
        return self

    @property
    def active(self) -> bool:
        return any(value is not None for value in self.key())

    def key(self) -> tuple:
        return tuple(getattr(self, name) for name in FIELDS)

    def as_params(self) -> dict[str, str]:
        """The query parameters that give these filters back (for links)."""
        return {name: str(value) for name, value in self.model_dump(by_alias=True, include=set(FIELDS)).items()
                if value is not None}

    def conditions(self) -> list[ColumnElement]:
        """The conditions on images joined (outer) to exif and places."""
        conditions = [images.c.deleted_at.is_(None)]  # the trash is never charted
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
        """The WHERE condition keeping only filtered photos (never those in the trash), on any column holding an
        image id."""
        if not self.active:
            # Without filters, leaving the trash out reads the few trashed ids from ix_images_trash, rather than
            # every live photo's id.
            return image_id.not_in(select(images.c.id).where(images.c.deleted_at.is_not(None)).correlate(None))
        return image_id.in_(self.image_ids())


def _photo_date_at_least(moment: datetime) -> ColumnElement:
    # The capture date when known, else the upload date. Written without COALESCE over the two
    # columns: taken_at is a naive local time, created_at a UTC timestamp (timestamptz on PostgreSQL).
    return or_(
        and_(exif.c.taken_at.is_not(None), exif.c.taken_at >= moment),
        and_(exif.c.taken_at.is_(None), images.c.created_at >= moment.replace(tzinfo=UTC)),
    )
