"""Find a page of search results without scoring every match: tier by tier, best score first.

A photo's score is a sum over the query's words of one weight each (recommend/text_search.py), so scores take
few values, and all the photos of one score (a tier) come in the library's order (shot_at, id descending).
The best tier alone usually fills a page: "dog" scores 100 wherever the word is in the body, and those photos
need no scoring, only the newest 61 of them. So search asks for tiers best first until the page is full, and
each tier is one full-text condition (`Cond`) on the search documents: for every word, a match at the tier's
weight and none at a higher one.

Within a tier, two ways to find its newest photos, chosen by the tier's size (counted up to CAP, which costs
no more than CAP rows however common the word is):
- a small tier is read whole through the full-text index and sorted (cost: its size);
- a large one is found by walking the documents newest first (ix_search_documents_order), a chunk at a time,
  keeping those that match (cost: the page over the tier's share of the library: small when the tier is large).
Either way, the engine never has to guess: PostgreSQL's planner, left alone, estimated 5,000 photos for a word
no document held, walked all million documents, and took seconds.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    column,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    tuple_,
)

from mosaic.catalog.documents import FTS_TABLE
from mosaic.catalog.schema import images, search_documents

CAP = 5000  # a tier this large is walked, a smaller one read whole
CHUNK = 4000  # documents per step of a walk; each step takes twice the last
MOST_WALKED = 64_000  # then the tier's photos are not among the newest: read it whole after all

# A full-text condition on one document: ("match", column, phrase) | ("any", [Cond]) | ("all", [Cond])
# | ("but", Cond, Cond) (the first and not the second).
Cond = tuple


@dataclass(frozen=True)
class Level:
    """One weight a word can give, and the (column, phrase) matches that give it."""

    weight: int
    matches: tuple[tuple[str, str], ...]


def levels(alternatives) -> list[Level]:
    """A word's distinct weights, best first (`alternatives`: text_search.Alternative)."""
    by_weight: dict[int, list[tuple[str, str]]] = {}
    for alt in alternatives:
        for column_name, weight in (("body", alt.weight), ("weak", alt.weak_weight)):
            if weight > 0:
                by_weight.setdefault(weight, []).append((column_name, alt.phrase))
    return [Level(weight, tuple(by_weight[weight])) for weight in sorted(by_weight, reverse=True)]


def tiers(words: list[list[Level]]) -> Iterator[tuple[int, Cond]]:
    """(score, the condition of exactly that score), best first: each combination of one level per word, those
    with equal sums as one tier."""
    start = (0,) * len(words)
    heap = [(-_score(words, start), start)]
    seen = {start}
    while heap:
        score = -heap[0][0]
        combos = []
        while heap and -heap[0][0] == score:
            _, combo = heapq.heappop(heap)
            combos.append(combo)
            for word in range(len(words)):
                following = combo[:word] + (combo[word] + 1,) + combo[word + 1:]
                if following[word] < len(words[word]) and following not in seen:
                    seen.add(following)
                    heapq.heappush(heap, (-_score(words, following), following))
        yield score, ("any", [("all", [_exactly(words[word], index) for word, index in enumerate(combo)])
                              for combo in combos])


def _score(words: list[list[Level]], combo: tuple[int, ...]) -> int:
    return sum(words[word][index].weight for word, index in enumerate(combo))


def _exactly(word: list[Level], index: int) -> Cond:
    """A document whose best match for this word is at `index`."""
    here = ("any", [("match", name, phrase) for name, phrase in word[index].matches])
    higher = [("match", name, phrase) for level in word[:index] for name, phrase in level.matches]
    return ("but", here, ("any", higher)) if higher else here


def condition(connection: Connection, cond: Cond, documents: FromClause) -> ColumnElement:
    """`cond` in SQL over `documents` (search_documents, or a select of its _walked_columns)."""
    if connection.dialect.name == "postgresql":
        return _tsquery(cond, documents)
    fts = table(FTS_TABLE, column("rowid"))
    return documents.c.id.in_(select(fts.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(literal(_fts5(cond)))))


def _tsquery(cond: Cond, documents: FromClause) -> ColumnElement:
    kind = cond[0]
    if kind == "match":
        wanted = func.phraseto_tsquery(literal_column("'simple'"), literal(cond[2]))
        return _words(documents, cond[1]).op("@@", is_comparison=True)(wanted)
    if kind == "but":
        return and_(_tsquery(cond[1], documents), not_(_tsquery(cond[2], documents)))
    parts = [_tsquery(part, documents) for part in cond[1]]
    if len(parts) == 1:
        return parts[0]
    return or_(*parts) if kind == "any" else and_(*parts)


def _words(documents: FromClause, name: str) -> ColumnElement:
    """PostgreSQL's stored, GIN-indexed tsvector of a text column (migration 0011: PostgreSQL's own, so not in
    schema.py): the words parsed once when the document was written, not again for each document walked."""
    key = f"{name}_words"
    return documents.c[key] if key in documents.c else literal_column(f"{documents.name}.{key}")


def _walked_columns(connection: Connection) -> list[ColumnElement]:
    """What a walk reads of each document to test the condition on it: the words on PostgreSQL, the id (the FTS5
    rowid) on SQLite."""
    if connection.dialect.name == "postgresql":
        return [_words(search_documents, name).label(f"{name}_words") for name in ("body", "weak")]
    return [search_documents.c.id]


def _fts5(cond: Cond) -> str:
    kind = cond[0]
    if kind == "match":  # normalised text holds only [0-9a-z ]: nothing to escape
        return f'{cond[1]} : "{cond[2]}"'
    if kind == "but":
        return f"({_fts5(cond[1])} NOT {_fts5(cond[2])})"
    if len(cond[1]) == 1:
        return _fts5(cond[1][0])
    return "(" + f" {'OR' if kind == 'any' else 'AND'} ".join(_fts5(part) for part in cond[1]) + ")"


def page(connection: Connection, cond: Cond, where: list[ColumnElement], after: tuple | None, need: int) -> list:
    """The newest `need` photos of a tier (rows of id, shot_at), after the (shot_at, id) `after`; `where`: the
    library filters over images (empty: none, and images is not read)."""
    hits = _documents(where, after).where(condition(connection, cond, search_documents))
    capped = hits.limit(CAP).cte("tier").prefix_with("MATERIALIZED")
    size = select(func.count()).select_from(capped).scalar_subquery()
    rows = connection.execute(select(capped.c.image_id.label("id"), capped.c.shot_at, size.label("size"))
                              .order_by(capped.c.shot_at.desc(), capped.c.image_id.desc()).limit(need)).all()
    if not rows or rows[0].size < CAP:
        return rows
    found: list = []
    step, walked = CHUNK, 0
    while walked < MOST_WALKED:
        newest = _documents(where, after).order_by(search_documents.c.shot_at.desc(),
                                                   search_documents.c.image_id.desc())
        chunk = newest.add_columns(*_walked_columns(connection)).limit(step).subquery()
        found += connection.execute(
            select(chunk.c.image_id.label("id"), chunk.c.shot_at).where(condition(connection, cond, chunk))
            .order_by(chunk.c.shot_at.desc(), chunk.c.image_id.desc()).limit(need - len(found))).all()
        if len(found) >= need:
            return found
        end = connection.execute(newest.offset(step - 1).limit(1)).first()
        if end is None:  # the library ends within this chunk
            return found
        after, walked, step = (end.shot_at, end.image_id), walked + step, step * 2
    # Common, but not among the newest photos: read the rest of it whole.
    rest = _documents(where, after).where(condition(connection, cond, search_documents)).cte("rest") \
        .prefix_with("MATERIALIZED")
    return found + connection.execute(select(rest.c.image_id.label("id"), rest.c.shot_at)
                                      .order_by(rest.c.shot_at.desc(), rest.c.image_id.desc())
                                      .limit(need - len(found))).all()


def _documents(where: list[ColumnElement], after: tuple | None) -> Select:
    """The documents' (image_id, shot_at) in the library, filtered, after the (shot_at, image id) `after`."""
    query = select(search_documents.c.image_id, search_documents.c.shot_at) \
        .where(search_documents.c.shot_at.is_not(None))
    if where:
        query = query.join(images, images.c.id == search_documents.c.image_id).where(*where)
    if after is not None:
        query = query.where(tuple_(search_documents.c.shot_at, search_documents.c.image_id) < tuple_(*after))
    return query
