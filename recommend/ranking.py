"""Rank images against a profile and explain each score.

Each preference is its own signal in 0..1 (the original platform's single 1,516-d L2 vector let a
make hashed to ~1e10 drown every other field):
- colour: CIEDE2000 closeness of the wanted colour to each palette colour, weighted by its share;
- size: closeness in log-width and log-height;
- orientation, make: a filter (others dropped) or a boost (others ranked lower), per settings;
- tags: the profile's words met by the image's object/scene labels through spaCy word vectors;
- feedback: likeness to the profile's liked images minus likeness to its disliked ones.
The score is the weighted mean of the signals the profile sets; the explanation gives each signal's
score, weight, contribution (they sum to the score) and a readable text.

Pipeline: candidates (Milvus STYLE search for colour/size/liked images, SQL on tags/exif for
words and makes) -> exact scores -> near-duplicates collapsed to their best-scoring member
(phash+dhash) -> diversified by MMR on palette and labels -> one page.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.catalog.schema import colours, exif, images, tags
from mosaic.features import STYLE, orientation_of, style_vector
from mosaic.imaging.lab import ciede2000, hex_to_rgb, rgb_to_lab
from recommend.duplicates import near_components
from recommend.feedback import Feedback, feedback_parts
from recommend.profile import Profile
from recommend.words import WordVectors, relevance, singular, word_vectors

# How much each preference counts when the profile sets it.
WEIGHTS = {"colour": 0.30, "tags": 0.25, "size": 0.20, "orientation": 0.10, "make": 0.15, "feedback": 0.20}
CONTENT = ("colour", "size", "tags")  # what selects images; orientation/make boosts only reorder them
# A candidate whose content signals (colour, size, tags) score below this meets none of them: not shown.
MIN_RELEVANCE = 0.1
MIN_POOL, MAX_POOL, POOL_PER_RESULT = 120, 1000, 6
# CIEDE2000: ~1 just noticeable, ~10 a related shade, 20+ another colour.
COLOUR_SIGMA = 15.0
# Size: a Gaussian over the log2 distance; 2x off on both sides scores 0.37.
SIZE_SIGMA = 1.0
MMR_LAMBDA = 0.75  # relevance vs novelty when diversifying a page
LABEL_CACHE_SECONDS = 30.0


@dataclass
class Candidate:
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


@dataclass
class Modes:
    orientation: str = "boost"  # filter | boost
    make: str = "boost"


@dataclass
class Page:
    results: list[dict]
    offset: int
    limit: int
    next_offset: int | None
    message: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


# -- signals ------------------------------------------------------------------------------------


def colour_part(wanted_hex: str, image: Candidate, delta_e: np.ndarray | None = None) -> dict:
    if not image.colours:
        return {"score": 0.0, "wanted": wanted_hex, "closest": None, "met": False,
                "text": f"no palette to compare with {wanted_hex}"}
    if delta_e is None:
        delta_e = ciede2000(rgb_to_lab(hex_to_rgb(wanted_hex)), image.lab)
    shares = image.shares
    closeness = np.exp(-((delta_e / COLOUR_SIGMA) ** 2))
    # The share of the photo that is (close to) the wanted colour; sqrt lets a 10 % accent still count.
    coverage = float(min(1.0, (shares * closeness).sum()))
    best = int(np.argmax(shares * closeness))
    colour = image.colours[best]
    distance = float(delta_e[best])
    name = colour.get("name") or "colour"
    text = f"{name} {colour['hex']} covers {colour['share']:.0%}"
    if distance > 2.3:
        text += f" (ΔE {distance:.0f} from {wanted_hex})"
    return {"score": math.sqrt(coverage), "wanted": wanted_hex, "closest": colour["hex"], "name": colour.get("name"),
            "share": round(float(colour["share"]), 4), "distance": round(distance, 2),
            "coverage": round(coverage, 4), "met": distance <= COLOUR_SIGMA and coverage >= 0.05, "text": text}


def size_part(want_w: int | None, want_h: int | None, width: int, height: int) -> dict:
    wanted = [want_w, want_h]
    if not width or not height:
        return {"score": 0.0, "wanted": wanted, "image": None, "met": False, "text": "size unknown"}
    terms = []
    if want_w:
        terms.append(math.log2(width / want_w))
    if want_h:
        terms.append(math.log2(height / want_h))
    distance = math.sqrt(sum(t * t for t in terms))
    score = math.exp(-(distance**2) / (2 * SIZE_SIGMA**2))
    return {"score": score, "wanted": wanted, "image": [width, height], "log2_distance": round(distance, 3),
            "met": score >= 0.5, "text": f"{width}×{height} {orientation_of(width, height)}"}


def tags_part(profile_tags: list[str], labels: dict[str, float | None], similarity: dict[str, dict[str, float]],
              matching: str) -> dict:
    """similarity: tag -> label -> cosine (1.0 for the same word), computed once per request."""
    found, matched, missing = [], [], []
    total = 0.0
    for tag in profile_tags:
        best, best_label, best_sim = 0.0, None, 0.0
        for label, confidence in labels.items():
            sim = similarity.get(tag, {}).get(label, 0.0)
            value = relevance(sim) * (1.0 if confidence is None else 0.6 + 0.4 * min(1.0, max(0.0, confidence)))
            if value > best:
                best, best_label, best_sim = value, label, sim
        total += best
        if best_label is None:
            missing.append(tag)
        else:
            matched.append(tag)
            found.append({"tag": tag, "label": best_label, "similarity": round(best_sim, 2), "score": round(best, 4),
                          "exact": singular(tag) == singular(best_label)})
    words = [f["label"] if f["exact"] else f"{f['label']} ({f['similarity']:.2f})" for f in found]
    text = "tags: " + ", ".join(words) if words else "tags: none of " + ", ".join(profile_tags)
    return {"score": total / len(profile_tags), "matched": matched, "missing": missing, "labels": found,
            "matching": matching, "met": bool(matched), "text": text}


def score_image(profile: Profile, image: Candidate, modes: Modes | None = None, words: WordVectors | None = None,
                *, similarity: dict | None = None, delta_e: np.ndarray | None = None,
                feedback: dict | None = None) -> tuple[float, dict]:
    modes = modes or Modes()
    parts: dict[str, dict] = {}
    if profile.colour:
        parts["colour"] = colour_part(profile.colour, image, delta_e)
    if profile.width or profile.height:
        parts["size"] = size_part(profile.width, profile.height, image.width, image.height)
    if profile.orientation != "any":
        actual = orientation_of(image.width, image.height)
        parts["orientation"] = {"score": 1.0 if actual == profile.orientation else 0.0, "wanted": profile.orientation,
                                "image": actual, "mode": modes.orientation, "met": actual == profile.orientation,
                                "text": actual if actual != "any" else "orientation unknown"}
    if profile.tags:
        if similarity is None:
            similarity = tag_similarities(words or word_vectors(), profile.tags, list(image.tags))
        parts["tags"] = tags_part(profile.tags, image.tags, similarity, (words or word_vectors()).matching)
    if profile.make:
        met = image.make == profile.make
        parts["make"] = {"score": 1.0 if met else 0.0, "wanted": profile.make, "image": image.make,
                         "mode": modes.make, "met": met, "text": image.make or "no camera make"}
    if feedback is not None:
        parts["feedback"] = feedback
    if not parts:
        return 0.0, {"note": "the profile sets no preference: images are in catalog order"}
    total_weight = sum(WEIGHTS[name] for name in parts)
    score = sum(WEIGHTS[name] * part["score"] for name, part in parts.items()) / total_weight
    for name, part in parts.items():
        part["weight"] = round(WEIGHTS[name] / total_weight, 4)
        part["contribution"] = round(WEIGHTS[name] * part["score"] / total_weight, 4)
        part["score"] = round(part["score"], 4)
    return score, parts


def content_score(parts: dict) -> float | None:
    """Weighted score of the content signals alone; None when the profile sets none."""
    present = [name for name in CONTENT if name in parts]
    if not present:
        return None
    return sum(WEIGHTS[n] * parts[n]["score"] for n in present) / sum(WEIGHTS[n] for n in present)


def summary(parts: dict) -> str:
    met = [part["text"] for name, part in parts.items() if isinstance(part, dict) and part.get("met")]
    return " · ".join(met) if met else "meets none of the preferences closely"


def tag_similarities(words: WordVectors, profile_tags: list[str], labels: list[str]) -> dict[str, dict[str, float]]:
    labels = sorted(set(labels))
    return {tag: dict(zip(labels, (float(s) for s in words.similarities(tag, labels)), strict=True))
            for tag in profile_tags}


# -- the pipeline -------------------------------------------------------------------------------


def recommend(backends: Backends, profile: Profile, limit: int, offset: int = 0, *, modes: Modes | None = None,
              given: Feedback | None = None, words: WordVectors | None = None) -> Page:
    modes = modes or Modes()
    given = given or Feedback()
    words = words or word_vectors()
    clock = _Clock()
    pool = max(MIN_POOL, min(MAX_POOL, (offset + limit) * POOL_PER_RESULT))
    ids, notes = _candidate_ids(backends, profile, modes, given, pool, words)
    clock.lap("candidates")
    candidates = [c for c in _load(backends, ids) if c.id not in given.disliked_ids and _passes(profile, modes, c)]
    clock.lap("load")
    scored = _score_all(profile, modes, given, words, candidates)
    clock.lap("score")
    kept = _collapse_duplicates(backends, scored, window=(offset + limit) * 3)
    order = _diversify(kept, offset + limit)
    clock.lap("rank")
    page = sorted(order[offset:offset + limit], key=lambda entry: (-entry[0], entry[2].id))
    results = [
        {"id": c.id, "score": round(score, 4), "explanation": parts, "summary": summary(parts),
         "duplicates": dupes, "thumbnail_url": f"/cdn/show/{c.id}?size=thumb", "url": f"/cdn/show/{c.id}"}
        for score, parts, c, dupes in page
    ]
    message = None
    if not results:
        message = _empty_message(backends, profile, modes, offset, bool(kept), notes)
    next_offset = offset + limit if len(kept) > offset + limit else None
    return Page(results, offset, limit, next_offset, message, clock.laps)


def _passes(profile: Profile, modes: Modes, image: Candidate) -> bool:
    if profile.make and modes.make == "filter" and image.make != profile.make:
        return False
    if profile.orientation != "any" and modes.orientation == "filter":
        return orientation_of(image.width, image.height) == profile.orientation
    return True


def _score_all(profile: Profile, modes: Modes, given: Feedback, words: WordVectors,
               candidates: list[Candidate]) -> list[tuple[float, dict, Candidate, list]]:
    similarity = None
    if profile.tags:
        similarity = tag_similarities(words, profile.tags, [label for c in candidates for label in c.tags])
    delta_es: list[np.ndarray | None] = [None] * len(candidates)
    if profile.colour and candidates:
        # One CIEDE2000 call for every palette colour of every candidate.
        labs = [c.lab for c in candidates]
        flat = ciede2000(rgb_to_lab(hex_to_rgb(profile.colour)), np.concatenate(labs)) if any(len(x) for x in labs) \
            else np.zeros(0)
        cuts = np.cumsum([0] + [len(x) for x in labs])
        delta_es = [flat[cuts[i]:cuts[i + 1]] for i in range(len(candidates))]
    feedback = [None] * len(candidates)
    if given:
        feedback = feedback_parts([(c.lab, c.shares, set(c.tags)) for c in candidates], given)
    scored = []
    has_content = any(name in CONTENT for name in _set_preferences(profile))
    for candidate, delta_e, fb in zip(candidates, delta_es, feedback, strict=True):
        score, parts = score_image(profile, candidate, modes, words, similarity=similarity, delta_e=delta_e,
                                   feedback=fb)
        if has_content and (content_score(parts) or 0.0) < MIN_RELEVANCE:
            continue
        scored.append((score, parts, candidate, []))
    scored.sort(key=lambda entry: (-entry[0], entry[2].id))
    return scored


def _set_preferences(profile: Profile) -> list[str]:
    names = []
    if profile.colour:
        names.append("colour")
    if profile.width or profile.height:
        names.append("size")
    if profile.tags:
        names.append("tags")
    if profile.orientation != "any":
        names.append("orientation")
    if profile.make:
        names.append("make")
    return names


def _collapse_duplicates(backends: Backends, scored: list, window: int) -> list:
    """Near-duplicates (the duplicates module's rule) among the top `window` fold into their best-scoring member,
    which lists the others under "duplicates"."""
    groups = near_components(backends, [entry[2].id for entry in scored[:window]])
    group_of = {image_id: number for number, members in enumerate(groups) for image_id in members}
    kept: list = []
    shown: dict[int, tuple] = {}
    for entry in scored:
        group = group_of.get(entry[2].id)
        if group in shown:
            shown[group][3].append(entry[2].id)
            continue
        if group is not None:
            shown[group] = entry
        kept.append(entry)
    return kept


def _diversify(scored: list, count: int) -> list:
    """Maximal marginal relevance over the top of the list: no page of ten near-identical sunsets.

    Likeness of two images: half palette (CIE76 distance of their share-weighted mean Lab), half
    label overlap. Picks `count` entries; the rest follow in score order.
    """
    window = scored[: max(count * 3, count)]
    if len(window) <= 1:
        return list(scored)
    means = np.array([_mean_lab(entry[2]) for entry in window])
    colour = np.exp(-((np.linalg.norm(means[:, None, :] - means[None, :, :], axis=-1) / 15.0) ** 2))
    label_sets = [set(entry[2].tags) for entry in window]
    relevance_ = np.array([entry[0] for entry in window])
    chosen: list[int] = [0]
    max_sim = np.zeros(len(window))
    remaining = set(range(1, len(window)))
    while remaining and len(chosen) < count:
        last = chosen[-1]
        for j in remaining:
            a, b = label_sets[last], label_sets[j]
            labels = len(a & b) / len(a | b) if a and b else 0.0
            max_sim[j] = max(max_sim[j], 0.5 * colour[last, j] + 0.5 * labels)
        best = max(remaining, key=lambda j: (MMR_LAMBDA * relevance_[j] - (1 - MMR_LAMBDA) * max_sim[j], -j))
        chosen.append(best)
        remaining.remove(best)
    picked = set(chosen)
    return [window[i] for i in chosen] + [entry for i, entry in enumerate(window) if i not in picked] + \
        list(scored[len(window):])


def _mean_lab(image: Candidate) -> np.ndarray:
    if not image.colours:
        return np.array([50.0, 0.0, 0.0])
    shares = image.shares
    return (image.lab * shares[:, None]).sum(axis=0) / max(shares.sum(), 1e-9)


# -- candidates ---------------------------------------------------------------------------------


def _candidate_ids(backends: Backends, profile: Profile, modes: Modes, given: Feedback, pool: int,
                   words: WordVectors) -> tuple[list[str], dict]:
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
            known = known_labels(backends)
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
                rows = connection.execute(select(tags.c.image_id).where(tags.c.label == label).limit(quota)).scalars()
                for image_id in rows:
                    found.setdefault(image_id)
        if profile.make and (modes.make == "filter" or not found):
            rows = connection.execute(select(exif.c.image_id).where(exif.c.make == profile.make).limit(pool)).scalars()
            for image_id in rows:
                found.setdefault(image_id)
        content = profile.colour or profile.width or profile.height or profile.tags
        if not content and len(found) < pool:
            # Boost-only (or empty) profiles rank the whole recent catalog, boosted images first.
            query = select(images.c.id).where(images.c.state == "indexed").order_by(images.c.created_at.desc())
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


_label_cache: dict[int, tuple[float, list[str]]] = {}


def known_labels(backends: Backends) -> list[str]:
    """The distinct labels in the catalog (a few hundred at most), cached for LABEL_CACHE_SECONDS."""
    key = id(backends.catalog)
    cached = _label_cache.get(key)
    if cached and time.monotonic() - cached[0] < LABEL_CACHE_SECONDS:
        return cached[1]
    with backends.catalog.connect() as connection:
        labels = sorted({label.lower() for label in connection.execute(select(tags.c.label).distinct()).scalars()})
    _label_cache[key] = (time.monotonic(), labels)
    return labels


def _load(backends: Backends, ids: list[str]) -> list[Candidate]:
    if not ids:
        return []
    with backends.catalog.connect() as connection:
        # The state is checked here, not in SQL: given `state = ?`, SQLite walks the state index
        # (every indexed image, 20 ms at 100k) instead of looking the ids up by primary key.
        rows = [row for row in connection.execute(
            select(images.c.id, images.c.width, images.c.height, images.c.state, exif.c.make)
            .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id))
            .where(images.c.id.in_(ids))
        ) if row.state == "indexed"]
        colour_rows = connection.execute(
            select(colours.c.image_id, colours.c.hex, colours.c.lab_l, colours.c.lab_a, colours.c.lab_b,
                   colours.c.share, colours.c.name).where(colours.c.image_id.in_(ids)).order_by(colours.c.rank)
        ).mappings().all()
        tag_rows = connection.execute(
            select(tags.c.image_id, tags.c.label, tags.c.score).where(tags.c.image_id.in_(ids))).all()
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


def _empty_message(backends: Backends, profile: Profile, modes: Modes, offset: int, had_any: bool,
                   notes: dict) -> str:
    if had_any and offset:
        return f"no more results past offset {offset}"
    with backends.catalog.connect() as connection:
        indexed = connection.execute(select(images.c.id).where(images.c.state == "indexed").limit(1)).first()
    if indexed is None:
        return "the catalog has no indexed images yet: upload or import photos, then ask again"
    reasons = []
    if profile.tags and not notes.get("related_labels"):
        sample = ", ".join(known_labels(backends)[:12])
        reasons.append(f"no image has a label close to {', '.join(profile.tags)} (labels include: {sample})")
    if profile.make and modes.make == "filter":
        reasons.append(f"only images taken with a {profile.make} are allowed (make filter)")
    if profile.orientation != "any" and modes.orientation == "filter":
        reasons.append(f"only {profile.orientation} images are allowed (orientation filter)")
    detail = "; ".join(reasons) if reasons else "no image comes close to the profile's colour, size or tags"
    return f"no image matches this profile: {detail}"


class _Clock:
    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self.last) * 1000, 2)
        self.last = now
