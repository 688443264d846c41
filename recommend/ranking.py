"""Rank images against a profile and explain each score.

Candidates come from Milvus (nearest style vectors to the profile's); each is then scored on
the fields the profile sets, and the explanation shows every part so a user can see why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.catalog.schema import colours, exif, images, tags
from mosaic.features import STYLE, style_vector
from mosaic.imaging.lab import hex_to_rgb, rgb_to_lab
from recommend.profile import Profile

# How much each preference counts when the profile sets it.
WEIGHTS = {"colour": 0.35, "tags": 0.25, "size": 0.15, "orientation": 0.15, "make": 0.10}
CANDIDATES_PER_RESULT = 10
MAX_CANDIDATES = 2000
# A CIELAB distance of about 2.3 is "just noticeable"; 30 is clearly another colour.
COLOUR_SCALE = 30.0


@dataclass
class Candidate:
    id: str
    width: int
    height: int
    make: str | None
    colours: list[dict]
    tags: set[str]


def recommend(backends: Backends, profile: Profile, limit: int) -> list[dict]:
    ids = _candidate_ids(backends, profile, limit)
    candidates = _load(backends, ids)
    scored = [(score_image(profile, c), c) for c in candidates]
    scored.sort(key=lambda pair: (-pair[0][0], pair[1].id))
    return [
        {"id": c.id, "score": round(score, 4), "explanation": explanation,
         "thumbnail_url": f"/cdn/show/{c.id}?size=thumb", "url": f"/cdn/show/{c.id}"}
        for (score, explanation), c in scored[:limit]
    ]


def score_image(profile: Profile, image: Candidate) -> tuple[float, dict]:
    parts: dict[str, dict] = {}
    if profile.colour:
        parts["colour"] = _colour_part(profile.colour, image.colours)
    if profile.width and profile.height:
        parts["size"] = _size_part(profile.width, profile.height, image.width, image.height)
    if profile.orientation != "any":
        actual = orientation_of(image.width, image.height)
        parts["orientation"] = {"score": 1.0 if actual == profile.orientation else 0.0,
                                "wanted": profile.orientation, "image": actual}
    if profile.tags:
        matched = [tag for tag in profile.tags if tag in image.tags]
        parts["tags"] = {"score": len(matched) / len(profile.tags), "matched": matched,
                         "missing": [tag for tag in profile.tags if tag not in image.tags]}
    if profile.make:
        parts["make"] = {"score": 1.0 if image.make == profile.make else 0.0,
                         "wanted": profile.make, "image": image.make}
    if not parts:
        return 0.0, {"note": "the profile sets no preference: images are in catalog order"}
    total_weight = sum(WEIGHTS[name] for name in parts)
    score = sum(WEIGHTS[name] * part["score"] for name, part in parts.items()) / total_weight
    for name, part in parts.items():
        part["score"] = round(part["score"], 4)
        part["weight"] = round(WEIGHTS[name] / total_weight, 4)
    return score, parts


def orientation_of(width: int, height: int) -> str:
    if not width or not height:
        return "any"
    ratio = width / height
    if ratio > 1.05:
        return "landscape"
    if ratio < 1 / 1.05:
        return "portrait"
    return "square"


def _colour_part(wanted_hex: str, image_colours: list[dict]) -> dict:
    if not image_colours:
        return {"score": 0.0, "wanted": wanted_hex, "closest": None}
    wanted = rgb_to_lab(hex_to_rgb(wanted_hex))
    largest = max(c["share"] for c in image_colours)
    best, best_colour, best_distance = 0.0, None, None
    for colour in image_colours:
        distance = float(np.linalg.norm(wanted - np.array([colour["lab_l"], colour["lab_a"], colour["lab_b"]])))
        # A close colour counts fully when it dominates the photo, and still counts when it is an accent.
        value = math.exp(-distance / COLOUR_SCALE) * (0.4 + 0.6 * colour["share"] / largest)
        if value > best:
            best, best_colour, best_distance = value, colour, distance
    return {"score": best, "wanted": wanted_hex, "closest": best_colour["hex"],
            "share": round(best_colour["share"], 4), "distance": round(best_distance, 2)}


def _size_part(want_w: int, want_h: int, width: int, height: int) -> dict:
    if not width or not height:
        return {"score": 0.0, "wanted": [want_w, want_h], "image": None}
    # Compare areas and shapes on a log scale: 2x bigger counts the same as 2x smaller.
    area = abs(math.log2((width * height) / (want_w * want_h)))
    aspect = abs(math.log2((width / height) / (want_w / want_h)))
    score = max(0.0, 1 - area / 4) * 0.5 + max(0.0, 1 - aspect / 1.5) * 0.5
    return {"score": score, "wanted": [want_w, want_h], "image": [width, height]}


def _candidate_ids(backends: Backends, profile: Profile, limit: int) -> list[str]:
    """Nearest style vectors when the profile has a colour or size; else the newest indexed images."""
    pool = min(MAX_CANDIDATES, limit * CANDIDATES_PER_RESULT)
    if profile.colour or (profile.width and profile.height):
        lab = [tuple(rgb_to_lab(hex_to_rgb(profile.colour)))] if profile.colour else []
        vector = style_vector(lab, [1.0] * len(lab), profile.width or 0, profile.height or 0)
        return [hit.id for hit in backends.vectors.search(STYLE, vector, limit=pool)]
    with backends.catalog.connect() as connection:
        query = select(images.c.id).where(images.c.state == "indexed").order_by(images.c.created_at.desc())
        return list(connection.execute(query.limit(pool)).scalars())


def _load(backends: Backends, ids: list[str]) -> list[Candidate]:
    if not ids:
        return []
    with backends.catalog.connect() as connection:
        rows = connection.execute(
            select(images.c.id, images.c.width, images.c.height, exif.c.make)
            .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id))
            .where(images.c.id.in_(ids), images.c.state == "indexed")
        ).all()
        colour_rows = connection.execute(
            select(colours).where(colours.c.image_id.in_(ids)).order_by(colours.c.rank)
        ).mappings().all()
        tag_rows = connection.execute(select(tags.c.image_id, tags.c.label).where(tags.c.image_id.in_(ids))).all()
    by_image: dict[str, list[dict]] = {}
    for row in colour_rows:
        by_image.setdefault(row["image_id"], []).append(dict(row))
    labels: dict[str, set[str]] = {}
    for image_id, label in tag_rows:
        labels.setdefault(image_id, set()).add(label.lower())
    return [
        Candidate(row.id, row.width or 0, row.height or 0, row.make, by_image.get(row.id, []),
                  labels.get(row.id, set()))
        for row in rows
    ]
