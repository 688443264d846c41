"""What every discovery endpoint returns (recommend, similar images, colour search): one scored image per result,
ranked best first, near-duplicates folded into one entry.

A result item: {"id", "score" (4 decimals), "explanation", <endpoint's own fields>, "thumbnail_url", "url"}.
recommend adds "summary" and lists the folded near-duplicates as "duplicates" beside the explanation; similar and
colour search list them inside it (explanation["duplicates"], only when there are some).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from mosaic.backends import Backends
from recommend.duplicates import best_first, near_components

if TYPE_CHECKING:
    from recommend.candidates import Candidate


@dataclass
class Scored:
    """One image as a ranking carries it."""

    id: str
    score: float
    explanation: dict  # what the score is made of (recommend: one part per signal)
    duplicates: list[str] = field(default_factory=list)  # near-duplicates folded into this entry, best first
    candidate: Candidate | None = None  # recommend: what the signals scored (palette, labels) for diversifying

    def order(self) -> tuple[float, str]:
        """The sort key of a ranked list: best score first, ties by id."""
        return -self.score, self.id


def result_item(entry: Scored, **fields) -> dict:
    """The JSON of one result; `fields` go between the explanation and the links."""
    return {"id": entry.id, "score": round(float(entry.score), 4), "explanation": entry.explanation, **fields,
            "thumbnail_url": f"/cdn/show/{entry.id}?size=thumb", "url": f"/cdn/show/{entry.id}"}


def search_items(ranked: list[Scored]) -> list[dict]:
    """Similar images' and colour search's items: an entry's folded near-duplicates listed in its explanation."""
    return [result_item(replace(entry, explanation={**entry.explanation, "duplicates": entry.duplicates})
                        if entry.duplicates else entry) for entry in ranked]


def fold_duplicates(backends: Backends, ranked: list[Scored], *, window: int | None = None,
                    groups: list[list[str]] | None = None) -> list[Scored]:
    """Near-duplicates within a ranked list (best first) become one entry, for every discovery endpoint alike.

    A near-duplicate set (duplicates.py's rule) among the first `window` entries (all of them when None) is shown
    once, where its best-scoring member ranked and at that member's score and explanation (what the set matched
    the request with; the parts' contributions still add up to the score). The image shown is the set's best copy,
    the one duplicate groups call "best": the largest pixel count, then the most EXIF fields, then the larger
    file, then the earliest stored (`duplicates.best_first`). Its "duplicates" are the other members, best first.
    So a resized copy that happens to match a size preference better ranks the set, and the user sees the original.

    `groups`: the sets when the caller has found them already (`near_components` over a superset of the list).
    """
    head = ranked if window is None else ranked[:window]
    by_id = {entry.id: entry for entry in head}
    if groups is None:
        groups = near_components(backends, list(by_id))
    groups = [listed for members in groups if len(listed := [i for i in members if i in by_id]) > 1]
    if not groups:
        return list(ranked)
    set_of = {image_id: members for members in best_first(backends, groups) for image_id in members}
    folded, shown = [], set()
    for entry in ranked:
        members = set_of.get(entry.id)
        if members is None:
            folded.append(entry)
        elif members[0] not in shown:  # the set's best-scoring member: the first one met
            shown.add(members[0])
            best = by_id[members[0]]
            folded.append(replace(entry, id=best.id, candidate=best.candidate, duplicates=members[1:]))
    return folded
