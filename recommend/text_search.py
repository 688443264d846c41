"""Search the library by words: free text over each photo's search document, and field terms as filters.

`q` is parsed by `parse` (pure): `make:canon`, `model:`, `country:`, `town:`, `year:2019`, `colour:red`,
`tag:dog`, `album:<name or id>`, `before:2020-01-01`, `after:2020-01-01` (a value with spaces in quotes:
`town:"new york"`); everything else is words ("a quoted phrase" stays one). Field terms narrow the library
(library.Filters); words are looked up in the documents (mosaic/catalog/documents.py).

Each word must match, as itself (or its singular) or, when it is no catalog label itself, through the labels
its spaCy word vector is close to ("puppy" -> dog): that is how a word reaches photos no text mentions. Per
word the best way it matched scores: the word itself in the document 100, in the unsure scene labels 30, a
related label round(60 × relevance), in the unsure labels round(20 × relevance). A photo's score is the sum
over the words; results are ordered by (score, shot_at, id) descending and keyset-paged on that.

Why not ts_rank / bm25: the two engines weigh term frequency and length differently, so the same query would
order (and page) differently on the embedded and the production catalog. Here the engines' full-text indexes
(a GIN index on to_tsvector('simple', …) on PostgreSQL, FTS5 on SQLite) only find documents, and the score is
integer arithmetic on our side: the same results, in the same order, with an exact keyset, on both. Scores
take few values, so a page is found tier by tier, best first (recommend/search_tiers.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, func, literal, select, tuple_, union_all

from mosaic.catalog.documents import normalise
from mosaic.catalog.schema import images, search_documents
from recommend import library, search_tiers
from recommend.words import WordVectors, relevance, singular

MAX_QUERY = 500
MAX_WORDS = 8
MAX_RELATED = 6  # catalog labels a word may expand to
MOST_TIERS = 16  # tiers asked for one by one (recommend/search_tiers.py); the rest are scored at once
FIELDS = ("make", "model", "country", "town", "year", "colour", "tag", "album", "before", "after")
ALIASES = {"color": "colour", "city": "town", "camera": "make"}
STOPWORDS = frozenset("a an and the of in on at with by for to from or is are".split())
EXACT, EXACT_WEAK, RELATED, RELATED_WEAK = 100, 30, 60, 20
_TOKEN = re.compile(r'(?:(?P<field>[A-Za-z]+):(?:"(?P<quoted>[^"]*)"|(?P<value>\S*)))'
                    r'|"(?P<phrase>[^"]*)"|(?P<word>\S+)')


@dataclass
class Terms:
    words: list[str] = field(default_factory=list)  # normalised words and phrases
    fields: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"words": self.words, "fields": self.fields}


def parse(q: str) -> Terms:
    """The words and field terms of a query; ValueError saying what is wrong with it."""
    if len(q) > MAX_QUERY:
        raise ValueError(f"at most {MAX_QUERY} characters")
    if q.count('"') % 2:
        raise ValueError("a quote is not closed")
    terms = Terms()
    for match in _TOKEN.finditer(q):
        if match["field"] is not None:
            name = ALIASES.get(match["field"].lower(), match["field"].lower())
            value = (match["quoted"] if match["quoted"] is not None else match["value"]).strip()
            if name not in FIELDS:
                raise ValueError(f"unknown field {match['field']!r} (fields: {', '.join(FIELDS)})")
            if not value:
                raise ValueError(f"{name}: needs a value")
            if name in terms.fields:
                raise ValueError(f"{name}: given twice")
            terms.fields[name] = _field_value(name, value)
        else:
            text = normalise(match["phrase"] if match["phrase"] is not None else match["word"])
            if match["phrase"] is not None:
                words = [text] if text else []
            else:
                words = [word for word in text.split() if word not in STOPWORDS]
            terms.words += [word for word in words if word not in terms.words]
    if len(terms.words) > MAX_WORDS:
        raise ValueError(f"at most {MAX_WORDS} words")
    if not terms.words and not terms.fields:
        raise ValueError("nothing to search for: give words or field terms like make:canon")
    return terms


def _field_value(name: str, value: str) -> str:
    if name == "year":
        if not re.fullmatch(r"\d{4}", value) or not 1800 <= int(value) <= 2200:
            raise ValueError(f"year: {value!r} is not a year like 2019")
        return value
    if name in ("before", "after"):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a date like 2020-01-31") from None
    return value.lower() if name in ("make", "model", "country", "town", "colour", "tag") else value


def filters_of(terms: Terms, album_id: str | None = None) -> library.Filters:
    """The library filters of the field terms (`album_id`: the album the album: term names, resolved)."""
    given = terms.fields
    start = end = None
    if "year" in given:
        year = int(given["year"])
        start, end = library.day_start(date(year, 1, 1)), library.day_start(date(year + 1, 1, 1))
    if "after" in given:  # after a day: from the next one
        after = library.day_after(date.fromisoformat(given["after"]))
        start = max(start, after) if start else after
    if "before" in given:  # before a day: up to its start
        before = library.day_start(date.fromisoformat(given["before"]))
        end = min(end, before) if end else before
    return library.Filters(start=start, end=end, make=given.get("make"), model=given.get("model"),
                           country=given.get("country"), town=given.get("town"), tag=given.get("tag"),
                           colour=given.get("colour"), album=album_id)


@dataclass(frozen=True)
class Alternative:
    phrase: str
    weight: int  # in the document's body
    weak_weight: int  # among its unsure labels
    related: bool


def alternatives(word: str, words: WordVectors | None, known: list[str]) -> list[Alternative]:
    """The ways one query word can match, best first: itself (and its singular), then related labels."""
    found = [Alternative(word, EXACT, EXACT_WEAK, False)]
    if singular(word) != word:
        found.append(Alternative(singular(word), EXACT, EXACT_WEAK, False))
    exact = {alt.phrase for alt in found}
    # A word that is a label already means that label: "dog" must not bring cats (their vectors are close).
    if words is not None and known and " " not in word and not exact & set(known):
        scored = [(relevance(float(sim)), label) for label, sim in zip(known, words.similarities(word, known),
                                                                       strict=True)]
        for rel, label in sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:MAX_RELATED]:
            phrase = normalise(label)
            if rel > 0 and phrase and phrase not in exact and round(RELATED * rel) > 0:
                found.append(Alternative(phrase, round(RELATED * rel), round(RELATED_WEAK * rel), True))
                exact.add(phrase)
    return found


def search(connection: Connection, terms: Terms, filters: library.Filters, limit: int = 60,
           after: tuple | None = None, words: WordVectors | None = None, known: list[str] | None = None) -> dict:
    """{"results": [item + score + matched], "next_cursor"}; `words`/`known`: word vectors and catalog labels
    to expand words with (without them, words match only as written)."""
    plans = [alternatives(word, words, known or []) for word in terms.words]
    where = library.conditions(filters)
    ranked = _by_words(connection, plans, where if filters.given() else [], limit + 1, after) if plans \
        else _by_fields(connection, where, limit + 1, after)
    next_cursor = library.encode_cursor(int(ranked[limit - 1].score), ranked[limit - 1].shot_at,
                                        ranked[limit - 1].id) if len(ranked) > limit else None
    ranked = ranked[:limit]
    ids = [row.id for row in ranked]
    by_id = {row.id: row for row in connection.execute(select(*library.COLUMNS).where(images.c.id.in_(ids)))} \
        if ids else {}
    texts = {row.image_id: row for row in connection.execute(
        select(search_documents.c.image_id, search_documents.c.body, search_documents.c.weak)
        .where(search_documents.c.image_id.in_(ids)))} if ids and plans else {}
    page = [by_id[row.id] for row in ranked]
    every_tag = library.page_tags(connection, [row.id for row in page], only_confident=False)
    results = []
    for rank, item in zip(ranked, library.items(connection, page, every_tag), strict=True):
        matched = _matched(plans, texts.get(rank.id), every_tag.get(rank.id, [])) + \
            [f"{name}:{value}" for name, value in terms.fields.items()]
        results.append({**item, "score": round(int(rank.score) / EXACT, 2), "matched": matched})
    return {"results": results, "next_cursor": next_cursor}


@dataclass(frozen=True)
class Ranked:
    score: int
    shot_at: object
    id: str


def _by_words(connection: Connection, plans: list[list[Alternative]], where: list, need: int,
              after: tuple | None) -> list[Ranked]:
    """The best `need` photos by (score, shot_at, id), tier by tier (recommend/search_tiers.py); past MOST_TIERS
    tiers, every remaining match scored at once."""
    ranked: list[Ranked] = []
    for count, (score, cond) in enumerate(search_tiers.tiers([search_tiers.levels(plan) for plan in plans])):
        if count == MOST_TIERS:  # the cursor, if any, bounds what _scored returns too
            return ranked + _scored(connection, plans, where, need - len(ranked), after, up_to=score)
        if after is not None and score > after[0]:
            continue
        within = after[1:] if after is not None and score == after[0] else None
        ranked += [Ranked(score, row.shot_at, row.id)
                   for row in search_tiers.page(connection, cond, where, within, need - len(ranked))]
        if len(ranked) >= need:
            break
    return ranked


def _scored(connection: Connection, plans: list[list[Alternative]], where: list, need: int, after: tuple | None,
            up_to: int) -> list[Ranked]:
    """Every document scoring at most `up_to` scored, then sorted: for queries of many words and many ways to
    match, whose tiers are too many to ask one by one."""
    # Every (document, word, weight) the index finds, then per document the best weight of each word, summed over
    # the words it has all of: grouping is linear in the hits on both engines (a CASE over IN sub-selects is not:
    # PostgreSQL stops hashing a sub-select larger than work_mem and rescans it per row).
    hits = union_all(*[
        select(search_documents.c.id, literal(index).label("word"), literal(weight).label("weight"))
        .where(search_tiers.condition(connection, ("match", column_name, alt.phrase), search_documents))
        for index, plan in enumerate(plans) for alt in plan
        for column_name, weight in (("body", alt.weight), ("weak", alt.weak_weight))
    ]).subquery()
    best = (select(hits.c.id, hits.c.word, func.max(hits.c.weight).label("weight"))
            .group_by(hits.c.id, hits.c.word).subquery())
    scores = (select(best.c.id, func.sum(best.c.weight).label("score")).group_by(best.c.id)
              .having(func.count() == len(plans), func.sum(best.c.weight) <= up_to).subquery())
    joined = scores.join(search_documents, search_documents.c.id == scores.c.id)
    if where:
        joined = joined.join(images, images.c.id == search_documents.c.image_id)
    scored = (select(search_documents.c.image_id.label("id"), search_documents.c.shot_at, scores.c.score)
              .select_from(joined).where(search_documents.c.shot_at.is_not(None), *where).subquery())
    query = select(scored)
    if after is not None:
        query = query.where(tuple_(scored.c.score, scored.c.shot_at, scored.c.id) < tuple_(*after))
    query = query.order_by(scored.c.score.desc(), scored.c.shot_at.desc(), scored.c.id.desc())
    return [Ranked(int(row.score), row.shot_at, row.id) for row in connection.execute(query.limit(need))]


def _by_fields(connection: Connection, where: list, need: int, after: tuple | None) -> list[Ranked]:
    """Field terms only: the library's own order (and index), every photo scoring 0."""
    query = select(images.c.id, images.c.shot_at).where(*where)
    if after is not None:
        query = query.where(tuple_(images.c.shot_at, images.c.id) < tuple_(*after[1:]))
    query = query.order_by(images.c.shot_at.desc(), images.c.id.desc())
    return [Ranked(0, row.shot_at, row.id) for row in connection.execute(query.limit(need))]


def _matched(plans: list[list[Alternative]], row, labels: list[tuple]) -> list[str]:
    """How each word met this photo: "dog (object)", "seashore (scene, unsure)", "tokyo (text)"."""
    if not plans or row is None:
        return []
    body, weak = f" {row.body} ", f" {row.weak} "
    kinds = {normalise(label): library.KIND.get(source, source) for label, source, _ in labels}
    said = []
    for plan in plans:
        best = None
        for alt in plan:
            for text, weight, unsure in ((body, alt.weight, False), (weak, alt.weak_weight, True)):
                if f" {alt.phrase} " in text and (best is None or weight > best[0]):
                    best = (weight, alt.phrase, unsure)
        if best is None:
            continue
        _, phrase, unsure = best
        kind = kinds.get(phrase, "text")
        said.append(f"{phrase} ({kind}{', unsure' if unsure else ''})")
    return said
