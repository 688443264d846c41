"""How well one image meets a profile, signal by signal, and the explanation of its score.

Each preference is its own signal in 0..1 (the original platform's single 1,516-d L2 vector let a
make hashed to ~1e10 drown every other field):
- colour: CIEDE2000 closeness of the wanted colour to each palette colour, weighted by its share;
- size: closeness in log-width and log-height;
- orientation, make: a filter (others dropped) or a boost (others ranked lower), per settings (`Modes`);
- tags: the profile's words met by the image's object/scene labels through spaCy word vectors;
- feedback: likeness to the profile's liked images minus likeness to its disliked ones (feedback.py).
The score is the weighted mean of the signals the profile sets; the explanation gives each signal's
score, weight, contribution (they sum to the score) and a readable text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mosaic.imaging.lab import ciede2000, hex_to_rgb, rgb_to_lab
from mosaic.vector_layouts import orientation_of
from recommend.profile import Profile
from recommend.words import WordVectors, relevance, singular

if TYPE_CHECKING:
    from recommend.candidates import Candidate

# How much each preference counts when the profile sets it.
WEIGHTS = {"colour": 0.30, "tags": 0.25, "size": 0.20, "orientation": 0.10, "make": 0.15, "feedback": 0.20}
CONTENT = ("colour", "size", "tags")  # what selects images; orientation/make boosts only reorder them
# CIEDE2000: ~1 just noticeable, ~10 a related shade, 20+ another colour.
COLOUR_SIGMA = 15.0
# Size: a Gaussian over the log2 distance; 2x off on both sides scores 0.37.
SIZE_SIGMA = 1.0


@dataclass
class Modes:
    """How the orientation and make preferences act: "filter" drops other images, "boost" ranks them lower."""

    orientation: str = "boost"  # filter | boost
    make: str = "boost"


def asks_for_content(profile: Profile) -> bool:
    """Whether the profile sets a content signal (colour, size, tags), which selects images rather than reorders."""
    return bool(profile.colour or profile.width or profile.height or profile.tags)


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


def _confidence(score: float | None) -> float:
    # A detector's 0.9 dog counts more than a 0.3 guess; labels without a score (datasets) count fully.
    return 1.0 if score is None else 0.6 + 0.4 * min(1.0, max(0.0, score))


def tags_part(profile_tags: list[str], labels: dict[str, float | None], similarity: dict[str, dict[str, float]],
              matching: str) -> dict:
    """similarity: tag -> label -> cosine (1.0 for the same word), computed once per request."""
    found, matched, missing = [], [], []
    total = 0.0
    for tag in profile_tags:
        best, best_label, best_sim = 0.0, None, 0.0
        for label, confidence in labels.items():
            sim = similarity.get(tag, {}).get(label, 0.0)
            value = relevance(sim) * _confidence(confidence)
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


def tag_similarities(words: WordVectors, profile_tags: list[str], labels: list[str]) -> dict[str, dict[str, float]]:
    labels = sorted(set(labels))
    return {tag: dict(zip(labels, (float(s) for s in words.similarities(tag, labels)), strict=True))
            for tag in profile_tags}


def score_image(profile: Profile, image: Candidate, modes: Modes | None = None, words: WordVectors | None = None,
                *, similarity: dict | None = None, delta_e: np.ndarray | None = None,
                feedback: dict | None = None) -> tuple[float, dict]:
    """(score 0..1, explanation: one part per signal the profile sets). `similarity` and `delta_e` are computed
    here when not given (a ranking computes them for every candidate at once); `feedback`: the feedback part."""
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
        words = words or WordVectors()
        if similarity is None:
            similarity = tag_similarities(words, profile.tags, list(image.tags))
        parts["tags"] = tags_part(profile.tags, image.tags, similarity, words.matching)
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
    """The explanation in one line: the texts of the signals the image meets."""
    met = [part["text"] for name, part in parts.items() if isinstance(part, dict) and part.get("met")]
    return " · ".join(met) if met else "meets none of the preferences closely"
