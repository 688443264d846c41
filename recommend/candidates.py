"""The images worth scoring for a profile, found without scoring the whole catalog, and loaded for the signals.

Where candidates come from, each found image kept once, in this order:
- Milvus STYLE search (palette and shape) around the wanted colour and size, one probe per plausible shape;
- Milvus STYLE search around the profile's liked images;
- SQL on tags for the catalog labels the profile's words relate to (words.py), each label a share of the pool;
- SQL on exif for the wanted make (when filtering by make, or nothing else was found);
- for a profile without colour, size or tags: the most recently indexed images.
Filtering modes narrow the vector search itself (orientation, make attributes of STYLE) and `passes_filters`
drops what still does not pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.catalog.images import confident
from mosaic.catalog.schema import colours, exif, images, tags
from mosaic.imaging.lab import hex_to_rgb, rgb_to_lab
from mosaic.vector_layouts import STYLE, orientation_of, style_vector
from recommend.feedback import Feedback
from recommend.profile import Profile
from recommend.signals import Modes, asks_for_content
from recommend.words import WordVectors, relevance

MIN_POOL, MAX_POOL, POOL_PER_RESULT = 120, 1000, 6
LABEL_CACHE_SECONDS = 30.0


@dataclass
class Candidate:
    """An image as the signals see it."""

    id: str
    width: int
    height: int
    make: str | None
    colours: list[dict]  # hex, lab_l, lab_a, lab_b, share, name; largest first
    tags: dict[str, float | None] | set[str]  # label -> confidence (None: no score)

    def __post_init__(self):
        if not isinstance(self.tags, dict):
            self.tags = {label: None for label in self.tags}

    @property
    def lab(self) -> np.ndarray:
        return np.array([[c["lab_l"], c["lab_a"], c["lab_b"]] for c in self.colours], dtype=np.float64).reshape(-1, 3)

    @property
    def shares(self) -> np.ndarray:
        return np.array([c["share"] for c in self.colours], dtype=np.float64)


class KnownLabels:
    """The distinct labels in a catalog (a few hundred at most), read again after `seconds`. The app keeps one
    (caches.py); one made per request reads them once for it."""

    def __init__(self, seconds: float = LABEL_CACHE_SECONDS):
        self.seconds = seconds
        self._read: tuple[object, float, list[str]] | None = None  # (catalog, when, labels)

    def get(self, backends: Backends) -> list[str]:
        read = self._read
        if read and read[0] is backends.catalog and time.monotonic() - read[1] < self.seconds:
            return read[2]
        with backends.catalog.connect() as connection:
            labels = sorted({label.lower() for label in connection.execute(
                select(tags.c.label).where(confident()).distinct()).scalars()})
        self._read = (backends.catalog, time.monotonic(), labels)
        return labels


def pool_size(count: int) -> int:
    """How many candidates to score for `count` results (offset + limit)."""
    return max(MIN_POOL, min(MAX_POOL, count * POOL_PER_RESULT))


def candidate_ids(backends: Backends, profile: Profile, modes: Modes, given: Feedback, pool: int,
                  words: WordVectors, labels: KnownLabels) -> tuple[list[str], dict]:
    """(ids, notes): up to about `pool` ids, disliked images left out; notes["related_labels"] for tags."""
    found: dict[str, None] = {}
    notes: dict = {}
    excluded = given.disliked_ids
    where = _milvus_filter(profile, modes)
    if profile.colour or profile.width or profile.height:
        for hit in _milvus(backends, _probes(profile), pool, excluded, where):
            found.setdefault(hit)
    if given.liked:
        stored = backends.vectors.get_many(STYLE, [ref.id for ref in given.liked[:5]])
        liked = [stored[ref.id] for ref in given.liked[:5] if ref.id in stored]
        for hit in _milvus(backends, liked, max(MIN_POOL // 2, pool // 4), excluded, where):
            found.setdefault(hit)
    with backends.catalog.connect() as connection:
        if profile.tags:
            known = labels.get(backends)
            related = sorted({label for tag in profile.tags for label in words.related_labels(tag, known)})
            notes["related_labels"] = related
            # Best-related labels first, each a share of the pool by its relevance. No ORDER BY score:
            # without a (label, score) index that sorts every row of a common label (30 ms at 100k);
            # the exact re-ranking weighs the detector's confidence anyway.
            weights = {label: max(relevance(s) for tag in profile.tags
                                  for s in words.similarities(tag, [label])) for label in related}
            total = sum(weights.values()) or 1.0
            for label in sorted(related, key=lambda name: -weights[name]):
                quota = max(10, int(pool * weights[label] / total))
                rows = connection.execute(select(tags.c.image_id).where(tags.c.label == label, confident())
                                          .limit(quota)).scalars()
                for image_id in rows:
                    found.setdefault(image_id)
        if profile.make and (modes.make == "filter" or not found):
            rows = connection.execute(select(exif.c.image_id).where(exif.c.make == profile.make).limit(pool)).scalars()
            for image_id in rows:
                found.setdefault(image_id)
        if not asks_for_content(profile) and len(found) < pool:
            # Boost-only (or empty) profiles rank the whole recent catalog, boosted images first.
            query = (select(images.c.id).where(images.c.state == "indexed", images.c.deleted_at.is_(None))
                     .order_by(images.c.created_at.desc()))
            for image_id in connection.execute(query.limit(pool)).scalars():
                found.setdefault(image_id)
    return list(found), notes


def _probes(profile: Profile) -> list[list[float]]:
    """STYLE query vectors: the wanted colour and shape; one per plausible shape when the shape is open."""
    lab = [tuple(rgb_to_lab(hex_to_rgb(profile.colour)))] if profile.colour else []
    if profile.width and profile.height:
        shapes = [(profile.width, profile.height)]
    else:
        side = profile.width or profile.height or 2400
        by_orientation = {"landscape": [(3, 2)], "portrait": [(2, 3)], "square": [(1, 1)]}
        ratios = by_orientation.get(profile.orientation, [(3, 2), (2, 3), (1, 1)])
        shapes = []
        for rw, rh in ratios:
            if profile.height and not profile.width:
                shapes.append((round(side * rw / rh), side))
            else:
                shapes.append((side, round(side * rh / rw)))
    return [style_vector(lab, [1.0] * len(lab), w, h) for w, h in shapes]


def _milvus_filter(profile: Profile, modes: Modes) -> dict[str, str]:
    """The STYLE attributes a filtering profile narrows the vector search to (boosts only reorder, later)."""
    where = {}
    if profile.orientation != "any" and modes.orientation == "filter":
        where["orientation"] = profile.orientation
    if profile.make and modes.make == "filter":
        where["make"] = profile.make
    return where


def _milvus(backends: Backends, vectors: list, limit: int, excluded: set[str], where: dict[str, str]) -> list[str]:
    found = backends.vectors.search_many(STYLE, vectors, limit, exclude=excluded, where=where)
    # Interleave the probes' hit lists so each shape gets its share of the pool.
    merged: dict[str, None] = {}
    for rank in range(limit):
        for hits in found:
            if rank < len(hits):
                merged.setdefault(hits[rank].id)
    return list(merged)[:limit]


def load(backends: Backends, ids: list[str]) -> list[Candidate]:
    """The indexed images among `ids` with their size, make, palette and labels (in no particular order)."""
    if not ids:
        return []
    with backends.catalog.connect() as connection:
        # The state is checked here, not in SQL: given `state = ?`, SQLite walks the state index
        # (every indexed image, 20 ms at 100k) instead of looking the ids up by primary key.
        rows = [row for row in connection.execute(
            select(images.c.id, images.c.width, images.c.height, images.c.state, images.c.deleted_at, exif.c.make)
            .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id))
            .where(images.c.id.in_(ids))
        ) if row.state == "indexed" and row.deleted_at is None]  # the trash is never recommended
        colour_rows = connection.execute(
            select(colours.c.image_id, colours.c.hex, colours.c.lab_l, colours.c.lab_a, colours.c.lab_b,
                   colours.c.share, colours.c.name).where(colours.c.image_id.in_(ids)).order_by(colours.c.rank)
        ).mappings().all()
        tag_rows = connection.execute(
            select(tags.c.image_id, tags.c.label, tags.c.score).where(tags.c.image_id.in_(ids), confident())).all()
    palette: dict[str, list[dict]] = {}
    for row in colour_rows:
        palette.setdefault(row["image_id"], []).append(dict(row))
    labels: dict[str, dict[str, float | None]] = {}
    for image_id, label, score in tag_rows:
        known = labels.setdefault(image_id, {})
        label = label.lower()
        if label not in known or (score is not None and (known[label] or 0) < score):
            known[label] = score
    return [
        Candidate(row.id, row.width or 0, row.height or 0, row.make, palette.get(row.id, []),
                  labels.get(row.id, {}))
        for row in rows
    ]


def passes_filters(profile: Profile, modes: Modes, image: Candidate) -> bool:
    """False when a filtering make or orientation preference drops the image."""
    if profile.make and modes.make == "filter" and image.make != profile.make:
        return False
    if profile.orientation != "any" and modes.orientation == "filter":
        return orientation_of(image.width, image.height) == profile.orientation
    return True
