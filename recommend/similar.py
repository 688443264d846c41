"""More like this: visual neighbours from the MobileNetV2 embedding (VISUAL, cosine), blended with palette and labels.

score = 0.70 × visual (cosine similarity, clipped to 0..1)
      + 0.15 × palette closeness (per colour of the image's palette, weighted by its share: 1 - ΔE00/30 to the
               nearest colour of the candidate's palette, floored at 0)
      + 0.15 × shared labels (Jaccard of the object and scene labels)
`blend=False` keeps the visual part alone. The image itself and its near-duplicates among the
visual neighbours (a resized or recompressed copy is a duplicate, not "similar"; exact copies cannot exist: one
sha256, one image) are excluded; near-duplicates among the results are folded into one entry
(results.fold_duplicates).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.catalog.schema import colours, images, tags
from mosaic.imaging.lab import ciede2000
from mosaic.vector_layouts import VISUAL
from recommend.duplicates import near_components
from recommend.errors import NotReady, UnknownImage
from recommend.results import Scored, fold_duplicates, search_items

WEIGHTS = {"visual": 0.70, "palette": 0.15, "labels": 0.15}
PALETTE_SCALE = 30.0  # ΔE00 at which a colour no longer counts as close
POOL_PER_RESULT = 4
MIN_POOL = 50


def _palettes(connection, ids: list[str]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    rows = connection.execute(
        select(colours.c.image_id, colours.c.hex, colours.c.lab_l, colours.c.lab_a, colours.c.lab_b, colours.c.share)
        .where(colours.c.image_id.in_(ids)).order_by(colours.c.image_id, colours.c.rank))
    for row in rows:
        found.setdefault(row.image_id, []).append(
            {"hex": row.hex, "lab": (row.lab_l, row.lab_a, row.lab_b), "share": row.share})
    return found


def _labels(connection, ids: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for image_id, label in connection.execute(select(tags.c.image_id, tags.c.label).where(tags.c.image_id.in_(ids))):
        found.setdefault(image_id, set()).add(label.lower())
    return found


def palette_closeness(own: list[dict], others: list[list[dict]]) -> list[tuple[float, list[dict]]]:
    """Per other palette: (closeness 0..1, each own colour's closest match). One ΔE00 computation for all of
    them: per-palette numpy calls cost more than the arithmetic at a hundred candidates."""
    if not own:
        return [(0.0, []) for _ in others]
    flat = [colour for palette in others for colour in palette]
    if not flat:
        return [(0.0, []) for _ in others]
    delta = ciede2000(np.array([c["lab"] for c in own])[:, None, :], np.array([c["lab"] for c in flat])[None, :, :])
    shares = np.array([c["share"] for c in own])
    results, start = [], 0
    for palette in others:
        if not palette:
            results.append((0.0, []))
            continue
        block = delta[:, start:start + len(palette)]
        start += len(palette)
        nearest, closest = block.argmin(axis=1), block.min(axis=1)
        closeness = np.clip(1 - closest / PALETTE_SCALE, 0, 1)
        score = float((shares * closeness).sum() / (shares.sum() or 1.0))
        matches = [{"colour": c["hex"], "closest": palette[j]["hex"], "delta_e": round(float(closest[i]), 1)}
                   for i, (c, j) in enumerate(zip(own, nearest, strict=True))]
        results.append((score, matches))
    return results


def similar(backends: Backends, image_id: str, limit: int = 20, blend: bool = True) -> list[dict]:
    """UnknownImage for no such image; NotReady when it is not indexed (no embedding yet)."""
    with backends.catalog.connect() as connection:
        found = connection.execute(select(images.c.state, images.c.deleted_at).where(images.c.id == image_id)).first()
    if found is None or found.deleted_at is not None:  # a photo in the trash is gone for everything but restoring
        raise UnknownImage(f"no image {image_id!r}")
    state = found.state
    if state != "indexed":
        raise NotReady(f"image {image_id} is {state}: similar images need its visual embedding, "
                       "made when it is indexed")
    vector = backends.vectors.get(VISUAL, image_id)
    if vector is None:
        raise NotReady(f"image {image_id} is indexed without a visual embedding (it has no rendition)")
    pool = max(MIN_POOL, limit * POOL_PER_RESULT)
    hits = backends.vectors.search(VISUAL, vector, limit=min(pool, 16384), exclude=image_id)
    # The image's own copies look most alike, so they are among the hits: its group there is left out.
    components = near_components(backends, [image_id] + [hit.id for hit in hits])
    excluded = next((set(members) for members in components if image_id in members), set())
    hits = [hit for hit in hits if hit.id not in excluded]
    if not hits:
        return []
    ids = [hit.id for hit in hits]
    with backends.catalog.connect() as connection:
        # The state is checked here, not in SQL: without table statistics SQLite would walk ix_images_state.
        indexed = {row.id for row in connection.execute(select(images.c.id, images.c.state, images.c.deleted_at)
                                                        .where(images.c.id.in_(ids)))
                   if row.state == "indexed" and row.deleted_at is None}
        palettes = _palettes(connection, ids + [image_id]) if blend else {}
        labels = _labels(connection, ids + [image_id]) if blend else {}
    own_palette, own_labels = palettes.get(image_id, []), labels.get(image_id, set())
    closeness = (dict(zip(ids, palette_closeness(own_palette, [palettes.get(i, []) for i in ids]), strict=True))
                 if blend else {})
    ranked = []
    for hit in hits:
        if hit.id not in indexed:
            continue
        visual = max(0.0, min(1.0, hit.distance))  # COSINE: Milvus returns the similarity
        if not blend:
            ranked.append(Scored(hit.id, visual, {"visual": {"score": round(visual, 4), "weight": 1.0},
                                                  "note": "visual similarity only (blend=false)"}))
            continue
        palette, matches = closeness[hit.id]
        theirs = labels.get(hit.id, set())
        union = own_labels | theirs
        shared = sorted(own_labels & theirs)
        label_score = len(shared) / len(union) if union else 0.0
        score = WEIGHTS["visual"] * visual + WEIGHTS["palette"] * palette + WEIGHTS["labels"] * label_score
        ranked.append(Scored(hit.id, score, {
            "visual": {"score": round(visual, 4), "weight": WEIGHTS["visual"]},
            "palette": {"score": round(palette, 4), "weight": WEIGHTS["palette"], "matches": matches},
            "labels": {"score": round(label_score, 4), "weight": WEIGHTS["labels"], "shared": shared},
            "note": (f"score = {WEIGHTS['visual']} × visual cosine + {WEIGHTS['palette']} × palette closeness "
                     f"(share-weighted 1 - ΔE00/{PALETTE_SCALE:g}) + {WEIGHTS['labels']} × shared labels "
                     "(Jaccard); the image's own near-duplicates are excluded"),
        }))
    ranked.sort(key=Scored.order)
    return search_items(fold_duplicates(backends, ranked[:limit * 2], groups=components)[:limit])
