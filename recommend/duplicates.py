"""Near-duplicate groups from the perceptual fingerprints: one image's group, every group, resolving one, and the
groups among a list of results (results.fold_duplicates folds them).

A pair is a near-duplicate when `is_near_duplicate` (mosaic/imaging/fingerprints.py) holds on phash + dhash (<= 40
bits of 128: the same photo resized, recompressed, cropped <= 10 % or brightened stays <= 38; different photos
measured >= 43) and, when both have a visual embedding, their cosine is >= VISUAL_MIN_COSINE (another shot of the
same scene looks alike but fails the fingerprints; unrelated photos that happen to fall within 40 bits fail the
embedding). Candidates come from a Hamming range search of radius NEAR_DUPLICATE_BITS on the 128-bit phash‖dhash
vectors in Milvus (FINGERPRINT): the search applies the rule itself; the catalog's hashes re-check it (a vector may
lag a re-harvest). Groups are the connected components (union-find) of confirmed pairs, so a chain of copies is one
group.

Complexity:
  one image's group (`group_of`): one batched range search per breadth-first level (usually one or two), each a
    BIN_FLAT scan of n 128-bit codes inside Milvus, plus one catalog query for the candidates' hashes: O(n) bit
    operations in Milvus' C++ and O(candidates) Python.
  every group (`all_groups`): one range search per indexed image, LIST_BATCH query vectors per Milvus call, the
    nearest LIST_CANDIDATES inside the radius each; confirmation is O(n * LIST_CANDIDATES) Python, grouping
    O(pairs). The Milvus side is O(n^2 / 32) word operations (BIN_FLAT is exhaustive). The result is kept in a
    `Listing` (the app keeps one, see caches.py): a later call searches only images indexed since, and recomputes
    everything only when an image left the catalog or changed fingerprints. Each call still reads every
    fingerprint row once (O(n) SQL).

Best member of a group: the largest pixel count, then the most EXIF fields, then the larger file (less
compressed), then the earliest stored. Sharpness is not used: nothing stored measures it, and measuring it would
mean decoding every member.

Group id: sha256 of the member ids, sorted, joined by "\n"; a resolution is stored under it, so a new copy joining
a group gives it a new id and re-opens it.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select, update

from mosaic.backends import Backends
from mosaic.catalog.images import now
from mosaic.catalog.rows import chunks
from mosaic.catalog.schema import duplicate_resolutions, exif, hashes, images
from mosaic.errors import NotFound, Refused
from mosaic.imaging.fingerprints import NEAR_DUPLICATE_BITS, fingerprint_vector, is_near_duplicate, near_duplicate_pairs
from mosaic.vector_layouts import FINGERPRINT, VISUAL
from recommend.errors import NotReady, UnknownImage

LOOKUP_CANDIDATES = 128  # nearest fingerprints inside the radius looked at per image for one image's group
LIST_CANDIDATES = 64  # ... per image when listing every group
LIST_BATCH = 256  # query vectors per Milvus call
MAX_GROUP = 1000  # breadth-first search stops growing a group here (a pathological chain)
# A pair that passes the fingerprint rule must also look alike to the embedding, when both have one: on random
# 128-bit codes 1.3e-5 of all pairs fall within 40 bits, so at 100k images the rule alone would pair up tens of
# thousands of unrelated ones. Copies measured >= 0.94 (8 % crop) .. 0.99; other photos <= 0.64.
VISUAL_MIN_COSINE = 0.85
EXIF_FIELDS = [column.name for column in exif.columns if column.name != "image_id"]


@dataclass
class Group:
    id: str
    best: str
    members: list[str]  # best first, then by the best-member rule
    reason: str
    resolved: bool = False
    resolved_at: str | None = None
    kept: str | None = None  # the member the user kept when resolving (the best unless they chose another)
    details: list[dict] = field(default_factory=list)  # per member, in `members` order: what the rule compared

    def as_json(self) -> dict:
        return {"id": self.id, "best": self.best, "members": self.members, "resolved": self.resolved,
                "resolved_at": self.resolved_at, "kept": self.kept, "reason": self.reason, "details": self.details}


# -- helpers -------------------------------------------------------------------------------------------------------


def group_id(members) -> str:
    return hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()


def _bits(hex_value: str) -> int:
    return int(hex_value, 16)


def fingerprints_of(connection, ids, indexed_only: bool = True) -> dict[str, tuple[int, int]]:
    """{image id: (phash, dhash)} as ints, for the ids that have both (and are indexed, when asked), never
    those in the trash: a trashed copy is no longer a member of any group."""
    found: dict[str, dict[str, int]] = {}
    for part in chunks(list(ids)):
        query = (select(hashes.c.image_id, hashes.c.kind, hashes.c.value, images.c.state, images.c.deleted_at)
                 .join(images, images.c.id == hashes.c.image_id)
                 .where(hashes.c.image_id.in_(part), hashes.c.kind.in_(("phash", "dhash"))))
        # The state is checked here, not in SQL: without table statistics SQLite would walk ix_images_state
        # (every indexed image) instead of looking up these few ids.
        for image_id, kind, value, state, deleted_at in connection.execute(query):
            if deleted_at is None and (state == "indexed" or not indexed_only):
                found.setdefault(image_id, {})[kind] = _bits(value)
    return {i: (h["phash"], h["dhash"]) for i, h in found.items() if "phash" in h and "dhash" in h}


def _all_fingerprints(connection) -> dict[str, tuple[int, int]]:
    found: dict[str, dict[str, int]] = {}
    query = (select(hashes.c.image_id, hashes.c.kind, hashes.c.value)
             .join(images, images.c.id == hashes.c.image_id)
             .where(images.c.state == "indexed", images.c.deleted_at.is_(None), hashes.c.kind.in_(("phash", "dhash"))))
    for image_id, kind, value in connection.execute(query):
        found.setdefault(image_id, {})[kind] = _bits(value)
    return {i: (h["phash"], h["dhash"]) for i, h in found.items() if "phash" in h and "dhash" in h}


def visual_confirm(backends: Backends, pairs) -> set[tuple[str, str]]:
    """The pairs whose visual embeddings agree (cosine >= VISUAL_MIN_COSINE); a pair missing one is kept."""
    pairs = set(pairs)
    ids = sorted({image_id for pair in pairs for image_id in pair})
    vectors: dict = {}
    for part in chunks(ids):
        vectors.update(backends.vectors.get_many(VISUAL, part))
    kept = set()
    for a, b in pairs:
        if a not in vectors or b not in vectors:
            kept.add((a, b))
            continue
        va, vb = np.asarray(vectors[a], dtype=np.float32), np.asarray(vectors[b], dtype=np.float32)
        cosine = float(va @ vb / ((np.linalg.norm(va) * np.linalg.norm(vb)) or 1.0))
        if cosine >= VISUAL_MIN_COSINE:
            kept.add((a, b))
    return kept


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        while parent != self.parent[parent]:
            self.parent[parent] = self.parent[self.parent[parent]]
            parent = self.parent[parent]
        self.parent[item] = parent
        return parent

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)

    def components(self) -> list[list[str]]:
        groups: dict[str, list[str]] = {}
        for item in self.parent:
            groups.setdefault(self.find(item), []).append(item)
        return [sorted(members) for members in groups.values() if len(members) > 1]


# -- best member -----------------------------------------------------------------------------------------------------


def _member_info(connection, ids: list[str]) -> dict[str, dict]:
    info: dict[str, dict] = {}
    for part in chunks(ids):
        for row in connection.execute(
            select(images.c.id, images.c.width, images.c.height, images.c.bytes, images.c.created_at,
                   images.c.original_name).where(images.c.id.in_(part))
        ):
            info[row.id] = {"width": row.width or 0, "height": row.height or 0, "bytes": row.bytes or 0,
                            "created_at": row.created_at, "exif_fields": 0, "name": row.original_name}
        for row in connection.execute(select(exif).where(exif.c.image_id.in_(part))).mappings():
            if row["image_id"] in info:
                info[row["image_id"]]["exif_fields"] = sum(row[name] is not None for name in EXIF_FIELDS)
    return info


def _rank_key(image_id: str, info: dict):
    item = info.get(image_id) or {"width": 0, "height": 0, "exif_fields": 0, "bytes": 0, "created_at": None}
    created = item["created_at"].timestamp() if item["created_at"] else 0.0
    return (-(item["width"] * item["height"]), -item["exif_fields"], -item["bytes"], created, image_id)


def order_members(members: list[str], info: dict[str, dict]) -> tuple[list[str], str]:
    """Members best first, and why the first is best (which rule decided)."""
    ordered = sorted(members, key=lambda image_id: _rank_key(image_id, info))
    best, runner = info.get(ordered[0], {}), info.get(ordered[1], {}) if len(ordered) > 1 else {}
    pixels = best.get("width", 0) * best.get("height", 0)
    size = f"{best.get('width', 0)}×{best.get('height', 0)}"
    if not runner:
        return ordered, f"largest: {size}"
    if pixels != runner["width"] * runner["height"]:
        reason = f"largest: {size} px (next {runner['width']}×{runner['height']})"
    elif best["exif_fields"] != runner["exif_fields"]:
        reason = f"largest ({size}, tied) and most EXIF fields: {best['exif_fields']} (next {runner['exif_fields']})"
    elif best["bytes"] != runner["bytes"]:
        reason = (f"largest ({size}, tied), as much EXIF, and the largest file: {best['bytes']:,} bytes "
                  f"(next {runner['bytes']:,}), i.e. the least compressed")
    else:
        reason = f"largest ({size}), EXIF and file size all tied: the earliest stored"
    return ordered, reason


def best_first(backends: Backends, groups: list[list[str]]) -> list[list[str]]:
    """Each group's members, best first (the best-member rule above)."""
    with backends.catalog.connect() as connection:
        info = _member_info(connection, [image_id for members in groups for image_id in members])
    return [order_members(members, info)[0] for members in groups]


def _resolutions(connection, ids: list[str]) -> dict[str, tuple[str | None, str]]:
    """{group id: (resolved at, kept member)}"""
    found = {}
    for part in chunks(ids):
        for row in connection.execute(select(duplicate_resolutions.c.group_id, duplicate_resolutions.c.resolved_at,
                                             duplicate_resolutions.c.best)
                                      .where(duplicate_resolutions.c.group_id.in_(part))):
            found[row.group_id] = (row.resolved_at.isoformat() if row.resolved_at else None, row.best)
    return found


def _make_groups(backends: Backends, components: list[list[str]]) -> list[Group]:
    if not components:
        return []
    with backends.catalog.connect() as connection:
        info = _member_info(connection, [image_id for members in components for image_id in members])
        made = []
        for members in components:
            ordered, reason = order_members(members, info)
            details = [{"id": i, "name": info[i]["name"], "width": info[i]["width"], "height": info[i]["height"],
                        "bytes": info[i]["bytes"], "exif_fields": info[i]["exif_fields"]}
                       for i in ordered if i in info]
            made.append(Group(group_id(members), ordered[0], ordered, reason, details=details))
        resolved = _resolutions(connection, [group.id for group in made])
    for group in made:
        if group.id in resolved:
            group.resolved = True
            group.resolved_at, group.kept = resolved[group.id]
    return made


# -- one image's group -------------------------------------------------------------------------------------------


def group_members(backends: Backends, image_id: str) -> list[str]:
    """The ids of the image's near-duplicate group (itself included), or [image_id] alone.

    UnknownImage when no such image (or it is in the trash); NotReady when it has no fingerprints yet."""
    with backends.catalog.connect() as connection:
        found = connection.execute(select(images.c.state, images.c.deleted_at).where(images.c.id == image_id)).first()
        if found is None or found.deleted_at is not None:
            raise UnknownImage(f"no image {image_id!r}")
        state = found.state
        own = fingerprints_of(connection, [image_id], indexed_only=False)
    if image_id not in own:
        raise NotReady(f"image {image_id} is {state}: it has no perceptual fingerprints yet (made when harvested)",
                       "not_harvested")
    known = dict(own)
    members = {image_id}
    frontier = [image_id]
    while frontier and len(members) < MAX_GROUP:
        found = backends.vectors.range_search(FINGERPRINT, [fingerprint_vector(*known[i]) for i in frontier],
                                              NEAR_DUPLICATE_BITS + 1, limit=LOOKUP_CANDIDATES)
        pairs = [(source, hit.id) for source, hits in zip(frontier, found, strict=True) for hit in hits
                 if hit.id not in members]
        new_ids = {candidate for _, candidate in pairs} - set(known)
        if new_ids:
            with backends.catalog.connect() as connection:
                known.update(fingerprints_of(connection, new_ids))
        near = [(source, candidate) for source, candidate in pairs
                if candidate in known and is_near_duplicate(known[source], known[candidate])]
        confirmed = visual_confirm(backends, near)
        frontier = []
        for source, candidate in pairs:
            if (source, candidate) in confirmed and candidate not in members:
                members.add(candidate)
                frontier.append(candidate)
    return sorted(members)


def group_of(backends: Backends, image_id: str) -> Group | None:
    """The image's group, or None when it has no near-duplicate."""
    members = group_members(backends, image_id)
    if len(members) < 2:
        return None
    return _make_groups(backends, [members])[0]


# -- every group -------------------------------------------------------------------------------------------------


class Listing:
    """The near-duplicate pairs found so far among the indexed images and the fingerprints they were found on: what
    lets `all_groups` search only the images indexed since its last call. Thread-safe; the app keeps one
    (caches.py), a listing made per call searches everything."""

    def __init__(self):
        self._lock = threading.Lock()
        self._backends: weakref.ref | None = None  # the backends the pairs are of
        self._fingerprints: dict[str, tuple[int, int]] = {}
        self._pairs: set[tuple[str, str]] = set()

    def pairs(self, backends: Backends, current: dict[str, tuple[int, int]]) -> set[tuple[str, str]]:
        """Every pair among `current` (the indexed images' fingerprints), searching only the images not seen yet;
        everything again when another catalog is asked or an image left or changed."""
        with self._lock:
            known = self._backends() if self._backends is not None else None
            if known is not backends or any(current.get(i) != fp for i, fp in self._fingerprints.items()):
                self._backends, self._fingerprints, self._pairs = weakref.ref(backends), {}, set()
            new = [i for i in current if i not in self._fingerprints]
            self._pairs |= _search_pairs(backends, new, current)
            self._fingerprints = current
            return set(self._pairs)

    def clear(self) -> None:
        with self._lock:
            self._backends, self._fingerprints, self._pairs = None, {}, set()


def _search_pairs(backends: Backends, ids: list[str], known: dict[str, tuple[int, int]]) -> set[tuple[str, str]]:
    pairs = set()
    for part in chunks(ids, LIST_BATCH):
        found = backends.vectors.range_search(FINGERPRINT, [fingerprint_vector(*known[i]) for i in part],
                                              NEAR_DUPLICATE_BITS + 1, limit=LIST_CANDIDATES)
        for source, hits in zip(part, found, strict=True):
            for hit in hits:
                other = known.get(hit.id)
                if hit.id != source and other is not None and is_near_duplicate(known[source], other):
                    pairs.add((min(source, hit.id), max(source, hit.id)))
    return visual_confirm(backends, pairs)


def all_groups(backends: Backends, listing: Listing | None = None) -> list[Group]:
    """Every near-duplicate group among indexed images, largest first. `listing`: the pairs found by earlier calls
    (the app's, see caches.py); without one every image is searched."""
    with backends.catalog.connect() as connection:
        current = _all_fingerprints(connection)
    pairs = (listing if listing is not None else Listing()).pairs(backends, current)
    union = _UnionFind()
    for a, b in pairs:
        union.union(a, b)
    groups = _make_groups(backends, union.components())
    groups.sort(key=lambda group: (-len(group.members), group.id))
    return groups


class NotAMember(Refused):
    code = "not_a_member"


def resolve(backends: Backends, wanted_id: str, keep: str | None = None, listing: Listing | None = None,
            trash_others: bool = False) -> tuple[Group, list[str]]:
    """Mark a current group resolved, keeping `keep` (default: the best member), and with `trash_others` move the
    other members to the trash. (group, the ids trashed). NotFound when no current group has that id; NotAMember
    when `keep` is not one of its members. `listing`: as for `all_groups`."""
    for group in all_groups(backends, listing):
        if group.id == wanted_id:
            break
    else:
        raise NotFound(f"no current duplicate group {wanted_id!r}: its members may have changed (a new copy "
                       "gives a group a new id); list /duplicates again")
    kept = keep or group.best
    if kept not in group.members:
        raise NotAMember(f"{kept!r} is not a member of group {group.id}: keep one of {', '.join(group.members)}")
    with backends.catalog.begin() as connection:
        connection.execute(duplicate_resolutions.delete().where(duplicate_resolutions.c.group_id == group.id))
        when = now()
        connection.execute(duplicate_resolutions.insert().values(
            group_id=group.id, best=kept, members=group.members, resolved_at=when))
        others = [member for member in group.members if member != kept] if trash_others else []
        if others:
            # The trash is only `deleted_at` (gather/trash.py owns restoring and purging): set here, in the same
            # transaction as the resolution, so the group is never settled with its copies still shown.
            connection.execute(update(images).where(images.c.id.in_(others), images.c.deleted_at.is_(None))
                               .values(deleted_at=when))
    group.resolved, group.resolved_at, group.kept = True, when.isoformat(), kept
    return group, others


# -- groups among a result list ------------------------------------------------------------------------------------


def near_components(backends: Backends, ids: list[str]) -> list[list[str]]:
    """The near-duplicate groups among `ids` alone (pairwise over the list, no search): sorted members, 2 or more."""
    if len(ids) < 2:
        return []
    with backends.catalog.connect() as connection:
        known = fingerprints_of(connection, ids, indexed_only=False)
    have = [i for i in ids if i in known]
    near = [(have[a], have[b]) for a, b in near_duplicate_pairs([known[i] for i in have])]
    union = _UnionFind()
    for a, b in visual_confirm(backends, near):
        union.union(a, b)
    return union.components()
