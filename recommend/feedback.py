"""Likes and dislikes of a profile, and how they move its later recommendations.

A vote is stored in the catalog's `feedback` table (one row per profile and image, the latest vote
wins). Later rankings for that profile:
- never show a disliked image again;
- search extra candidates around liked images' style vectors (palette and shape);
- add a `feedback` signal: how much a candidate resembles the liked images (palette by CIEDE2000,
  labels by overlap) minus how much it resembles the disliked ones, rescaled to 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from mosaic.catalog.images import now
from mosaic.catalog.schema import colours, feedback, images, profiles, tags
from mosaic.errors import NotFound, Refused
from mosaic.imaging.lab import ciede2000

VOTES = ("like", "dislike")
# Feedback images used per profile: the most recent votes count, old ones fade out.
MAX_REFERENCES = 50
# Palette closeness: CIEDE2000 of 10 is "related", 20+ is another colour.
PALETTE_SIGMA = 12.0


@dataclass
class Reference:
    """A voted image as far as resemblance goes: its palette (Lab, shares) and labels."""

    id: str
    lab: np.ndarray  # (n, 3)
    shares: np.ndarray  # (n,)
    labels: set[str]


@dataclass
class Feedback:
    liked: list[Reference] = field(default_factory=list)
    disliked: list[Reference] = field(default_factory=list)

    @property
    def disliked_ids(self) -> set[str]:
        return {ref.id for ref in self.disliked}

    def __bool__(self) -> bool:
        return bool(self.liked or self.disliked)


def record_vote(connection: Connection, profile_id: str, image_id: str, vote: str) -> dict:
    """Upsert one vote (the latest wins); NotFound for an unknown profile or image."""
    if vote not in VOTES:
        raise Refused(f"vote must be 'like' or 'dislike', not {vote!r}", "bad_vote")
    if connection.execute(select(profiles.c.id).where(profiles.c.id == profile_id)).scalar() is None:
        raise NotFound(f"no profile {profile_id!r}", "unknown_profile")
    if connection.execute(select(images.c.id).where(images.c.id == image_id)).scalar() is None:
        raise NotFound(f"no image {image_id!r}", "unknown_image")
    key = (feedback.c.profile_id == profile_id) & (feedback.c.image_id == image_id)
    # Select-then-write runs the same on SQLite and PostgreSQL; the transaction makes it one upsert.
    if connection.execute(select(feedback.c.vote).where(key)).first() is None:
        connection.execute(insert(feedback).values(profile_id=profile_id, image_id=image_id, vote=vote,
                                                   created_at=now()))
    else:
        connection.execute(update(feedback).where(key).values(vote=vote, created_at=now()))
    return {"profile_id": profile_id, "image_id": image_id, "vote": vote, "feedback": counts(connection, profile_id)}


def counts(connection: Connection, profile_id: str) -> dict[str, int]:
    rows = dict(connection.execute(
        select(feedback.c.vote, func.count()).where(feedback.c.profile_id == profile_id).group_by(feedback.c.vote)
    ).all())
    return {"likes": int(rows.get("like", 0)), "dislikes": int(rows.get("dislike", 0))}


def load_feedback(connection: Connection, profile_id: str | None) -> Feedback:
    if not profile_id:
        return Feedback()
    votes = connection.execute(
        select(feedback.c.image_id, feedback.c.vote).where(feedback.c.profile_id == profile_id)
        .order_by(feedback.c.created_at.desc()).limit(2 * MAX_REFERENCES)
    ).all()
    if not votes:
        return Feedback()
    ids = [row.image_id for row in votes]
    palette: dict[str, list] = {}
    for row in connection.execute(
        select(colours.c.image_id, colours.c.lab_l, colours.c.lab_a, colours.c.lab_b, colours.c.share)
        .where(colours.c.image_id.in_(ids))
    ):
        palette.setdefault(row.image_id, []).append(row)
    labels: dict[str, set[str]] = {}
    for image_id, label in connection.execute(select(tags.c.image_id, tags.c.label).where(tags.c.image_id.in_(ids))):
        labels.setdefault(image_id, set()).add(label.lower())
    made = Feedback()
    for row in votes:
        rows = palette.get(row.image_id, [])
        ref = Reference(row.image_id, np.array([[r.lab_l, r.lab_a, r.lab_b] for r in rows]).reshape(-1, 3),
                        np.array([r.share for r in rows]), labels.get(row.image_id, set()))
        target = made.liked if row.vote == "like" else made.disliked
        if len(target) < MAX_REFERENCES:
            target.append(ref)
    return made


def _mutual(closeness: np.ndarray, shares_a: np.ndarray, shares_b: np.ndarray) -> float:
    """0..1: how much of palette A has a close colour in palette B, both ways, weighted by share."""
    a_in_b = float((shares_a * closeness.max(axis=1)).sum() / max(shares_a.sum(), 1e-9))
    b_in_a = float((shares_b * closeness.max(axis=0)).sum() / max(shares_b.sum(), 1e-9))
    return (a_in_b + b_in_a) / 2


def label_similarity(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def resemblance_matrix(images: list[tuple[np.ndarray, np.ndarray, set[str]]], refs: list[Reference]) -> np.ndarray:
    """(len(images), len(refs)) likeness 0..1: palette and labels half each (palette alone when neither has labels).

    All palettes go through one CIEDE2000 call: a per-pair call costs ~50 us of numpy overhead.
    """
    out = np.zeros((len(images), len(refs)))
    if not images or not refs:
        return out
    ref_lab = np.concatenate([ref.lab for ref in refs]) if any(len(ref.lab) for ref in refs) else np.zeros((0, 3))
    img_lab = np.concatenate([lab for lab, _, _ in images]) if any(len(i[0]) for i in images) else np.zeros((0, 3))
    closeness = np.exp(-((ciede2000(img_lab[:, None, :], ref_lab[None, :, :]) / PALETTE_SIGMA) ** 2))
    ref_cuts = np.cumsum([0] + [len(ref.lab) for ref in refs])
    row = 0
    for i, (lab, shares, labels) in enumerate(images):
        block = closeness[row:row + len(lab)]
        row += len(lab)
        for j, ref in enumerate(refs):
            colour = 0.0
            if len(lab) and len(ref.lab):
                colour = _mutual(block[:, ref_cuts[j]:ref_cuts[j + 1]], shares, ref.shares)
            if labels or ref.labels:
                out[i, j] = 0.5 * colour + 0.5 * label_similarity(labels, ref.labels)
            else:
                out[i, j] = colour
    return out


def feedback_parts(images: list[tuple[np.ndarray, np.ndarray, set[str]]], given: Feedback) -> list[dict]:
    """The `feedback` signal of each image: 0.5 neutral, toward 1 like the liked, toward 0 like the disliked."""
    likes = resemblance_matrix(images, given.liked)
    dislikes = resemblance_matrix(images, given.disliked)
    parts = []
    for i in range(len(images)):
        like = float(likes[i].max()) if given.liked else 0.0
        dislike = float(dislikes[i].max()) if given.disliked else 0.0
        score = min(1.0, max(0.0, 0.5 + 0.5 * (like - dislike)))
        texts = []
        if like >= 0.2:
            texts.append(f"resembles an image you liked ({like:.2f})")
        if dislike >= 0.2:
            texts.append(f"resembles an image you disliked ({dislike:.2f})")
        parts.append({
            "score": score, "like": round(like, 4), "dislike": round(dislike, 4),
            "liked_image": given.liked[int(likes[i].argmax())].id if given.liked else None,
            "disliked_image": given.disliked[int(dislikes[i].argmax())].id if given.disliked else None,
            "text": "; ".join(texts) or "unlike your votes so far", "met": score > 0.55,
        })
    return parts
