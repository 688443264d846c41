"""Search found tier by tier must equal search by scoring every match: the check, shared by the SQLite unit test
(tests/unit/recommend/test_search_tiers.py) and the PostgreSQL one (tests/integration/test_library.py).

Rows are GENERATED: photos with a few words from a small vocabulary in the body and the unsure labels, and few
distinct capture times, so that many photos tie and the id decides."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection, insert

from mosaic.catalog.schema import images, search_documents
from recommend import library, search_tiers, text_search
from recommend.text_search import Alternative

WORDS = ["dog", "cat", "beach", "puppy", "snow", "tokyo", "new york", "bird"]
PLANS = {
    "dog": [[Alternative("dog", 100, 30, False)]],
    "dog beach": [[Alternative("dog", 100, 30, False)], [Alternative("beach", 100, 30, False)]],
    "puppy": [[Alternative("puppy", 100, 30, False), Alternative("dog", 54, 18, True),
               Alternative("cat", 48, 16, True)]],
    "puppy snow": [[Alternative("puppy", 100, 30, False), Alternative("dog", 54, 18, True)],
                   [Alternative("snow", 100, 30, False), Alternative("bird", 40, 13, True)]],
    '"new york"': [[Alternative("new york", 100, 30, False)]],
}
# (CAP, CHUNK, MOST_WALKED, MOST_TIERS): every way a page can be found.
WAYS = {
    "read whole": (5000, 4000, 64_000, 16),
    "walked": (3, 2, 10**6, 16),
    "walked, then read whole": (3, 2, 6, 16),
    "scored past two tiers": (3, 2, 6, 2),
}


def add_documents(connection: Connection, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = datetime(2020, 1, 1)
    photos, documents = [], []
    for n in range(count):
        image_id = f"t{n:05d}"
        shot = start + timedelta(days=rng.randrange(40))  # few distinct times: ties broken by id
        photos.append({"id": image_id, "sha256": f"{n:064x}", "object_key": f"originals/{image_id}",
                       "source": "generated", "original_name": f"{image_id}.jpg", "bytes": 1, "mime": "image/jpeg",
                       "width": 4, "height": 3, "state": "indexed", "created_at": shot, "updated_at": shot,
                       "shot_at": shot})
        body = rng.sample(WORDS, rng.randint(0, 3))
        weak = rng.sample(WORDS, rng.randint(0, 2))
        documents.append({"image_id": image_id, "body": " ".join(body), "weak": " ".join(weak), "shot_at": shot})
    connection.execute(insert(images), photos)
    connection.execute(insert(search_documents), documents)


def _paged(connection: Connection, plans, where: list, size: int) -> list:
    found, after = [], None
    while True:
        ranked = text_search._by_words(connection, plans, where, size + 1, after)
        found += ranked[:size]
        if len(ranked) <= size:
            return found
        after = (ranked[size - 1].score, ranked[size - 1].shot_at, ranked[size - 1].id)


def assert_tiers_match_scoring(connection: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    filtered = library.conditions(library.Filters(start=datetime(2020, 1, 10), end=datetime(2020, 1, 30)))
    for name, plans in PLANS.items():
        for where in ([], filtered):
            everything = text_search._scored(connection, plans, where, 10**6, None, up_to=10**6)
            assert everything, name
            for way, (cap, chunk, most_walked, most_tiers) in WAYS.items():
                monkeypatch.setattr(search_tiers, "CAP", cap)
                monkeypatch.setattr(search_tiers, "CHUNK", chunk)
                monkeypatch.setattr(search_tiers, "MOST_WALKED", most_walked)
                monkeypatch.setattr(text_search, "MOST_TIERS", most_tiers)
                assert _paged(connection, plans, where, 7) == everything, (name, bool(where), way)
