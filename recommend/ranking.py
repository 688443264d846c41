"""Rank images against a profile: one page of scored, explained, de-duplicated and diversified results.

Pipeline: candidates (candidates.py: Milvus STYLE search for colour/size/liked images, SQL on tags/exif for
words and makes) -> exact scores (signals.py) -> near-duplicates folded into one entry (results.fold_duplicates:
the set's best copy at its best-scoring member's score) -> diversified by MMR on palette and labels -> one page,
or a message saying why there is none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.catalog.schema import images
from mosaic.imaging.lab import ciede2000, hex_to_rgb, rgb_to_lab
from recommend import albums
from recommend.candidates import (
    MAX_POOL,
    Candidate,
    KnownLabels,
    candidate_ids,
    load,
    passes_filters,
    pool_size,
)
from recommend.feedback import Feedback, feedback_parts
from recommend.profile import Profile
from recommend.results import Scored, fold_duplicates, result_item
from recommend.signals import Modes, asks_for_content, content_score, score_image, summary, tag_similarities
from recommend.words import WordVectors

# A candidate whose content signals (colour, size, tags) score below this meets none of them: not shown.
MIN_RELEVANCE = 0.1
MMR_LAMBDA = 0.75  # relevance vs novelty when diversifying a page


@dataclass
class Page:
    results: list[dict]
    offset: int
    limit: int
    next_offset: int | None
    message: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def recommend(backends: Backends, profile: Profile, limit: int, offset: int = 0, *, modes: Modes | None = None,
              given: Feedback | None = None, words: WordVectors | None = None,
              labels: KnownLabels | None = None, album: str | None = None) -> Page:
    """`words` and `labels`: the app's (caches.py); without them this call loads its own. `album`: an album id,
    to rank only its photos."""
    modes = modes or Modes()
    given = given or Feedback()
    words = words or WordVectors()
    labels = labels or KnownLabels()
    clock = _Clock()
    ids, notes = candidate_ids(backends, profile, modes, given, pool_size(offset + limit), words, labels)
    if album is not None:
        ids = _in_album(backends, album, ids)
    clock.lap("candidates")
    candidates = [c for c in load(backends, ids)
                  if c.id not in given.disliked_ids and passes_filters(profile, modes, c)]
    clock.lap("load")
    scored = _score_all(profile, modes, given, words, candidates)
    clock.lap("score")
    kept = fold_duplicates(backends, scored, window=(offset + limit) * 3)
    order = _diversify(kept, offset + limit)
    clock.lap("rank")
    page = sorted(order[offset:offset + limit], key=Scored.order)
    results = [result_item(entry, summary=summary(entry.explanation), duplicates=entry.duplicates) for entry in page]
    message = None
    if not results:
        message = _empty_message(backends, profile, modes, offset, bool(kept), notes, labels)
    next_offset = offset + limit if len(kept) > offset + limit else None
    return Page(results, offset, limit, next_offset, message, clock.laps)


def _in_album(backends: Backends, album: str, ids: list[str]) -> list[str]:
    """The candidates in the album, then its other photos: the profile's search may have missed a small album's
    photos, and scoring drops those that meet none of the profile's content."""
    with backends.catalog.connect() as connection:
        members = albums.photo_ids(connection, album, MAX_POOL)
    inside, found = set(members), set(ids)
    return [image_id for image_id in ids if image_id in inside] + [i for i in members if i not in found]


def _score_all(profile: Profile, modes: Modes, given: Feedback, words: WordVectors,
              candidates: list[Candidate]) -> list[Scored]:
    """Every candidate that meets the profile's content at all (MIN_RELEVANCE), best first."""
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
    has_content = asks_for_content(profile)
    for candidate, delta_e, fb in zip(candidates, delta_es, feedback, strict=True):
        score, parts = score_image(profile, candidate, modes, words, similarity=similarity, delta_e=delta_e,
                                   feedback=fb)
        if has_content and (content_score(parts) or 0.0) < MIN_RELEVANCE:
            continue
        scored.append(Scored(candidate.id, score, parts, candidate=candidate))
    scored.sort(key=Scored.order)
    return scored


def _diversify(scored: list[Scored], count: int) -> list[Scored]:
    """Maximal marginal relevance over the top of the list: no page of ten near-identical sunsets.

    Likeness of two images: half palette (CIE76 distance of their share-weighted mean Lab), half
    label overlap. Picks `count` entries; the rest follow in score order.
    """
    window = scored[: max(count * 3, count)]
    if len(window) <= 1:
        return list(scored)
    means = np.array([_mean_lab(entry.candidate) for entry in window])
    colour = np.exp(-((np.linalg.norm(means[:, None, :] - means[None, :, :], axis=-1) / 15.0) ** 2))
    label_sets = [set(entry.candidate.tags) for entry in window]
    relevance_ = np.array([entry.score for entry in window])
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


def _empty_message(backends: Backends, profile: Profile, modes: Modes, offset: int, had_any: bool, notes: dict,
                  labels: KnownLabels) -> str:
    """Why a page is empty: paged past the end, an empty catalog, or what in the profile matched nothing."""
    if had_any and offset:
        return f"no more results past offset {offset}"
    with backends.catalog.connect() as connection:
        indexed = connection.execute(select(images.c.id).where(images.c.state == "indexed").limit(1)).first()
    if indexed is None:
        return "the catalog has no indexed images yet: upload or import photos, then ask again"
    reasons = []
    if profile.tags and not notes.get("related_labels"):
        sample = ", ".join(labels.get(backends)[:12])
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
