"""Search tier by tier (recommend/search_tiers.py): the tiers (pure), their full-text conditions, and pages found
every way equal to scoring every match, on the embedded catalog (PostgreSQL: tests/integration/test_library.py)."""

from __future__ import annotations

import itertools
import random

from recommend.search_tiers import Level, _fts5, levels, tiers
from recommend.text_search import Alternative
from tests.search_check import add_documents, assert_tiers_match_scoring


def test_levels_group_weights_best_first():
    plan = [Alternative("puppy", 100, 30, False), Alternative("dog", 54, 18, True), Alternative("cat", 54, 0, True)]
    assert levels(plan) == [Level(100, (("body", "puppy"),)), Level(54, (("body", "dog"), ("body", "cat"))),
                            Level(30, (("weak", "puppy"),)), Level(18, (("weak", "dog"),))]


def test_tiers_give_every_sum_once_best_first():
    rng = random.Random(3)
    for _ in range(50):
        words = [[Level(weight, (("body", f"w{word}"),))
                  for weight in sorted(rng.sample(range(1, 120), rng.randint(1, 4)), reverse=True)]
                 for word in range(rng.randint(1, 3))]
        sums = sorted({sum(combo) for combo in itertools.product(*[[lv.weight for lv in w] for w in words])},
                      reverse=True)
        assert [score for score, _ in tiers(words)] == sums


def test_a_tier_holds_a_match_at_its_weight_and_none_higher():
    words = [levels([Alternative("puppy", 100, 30, False), Alternative("dog", 54, 18, True)])]
    conditions = dict(tiers(words))
    assert _fts5(conditions[100]) == 'body : "puppy"'
    assert _fts5(conditions[54]) == '(body : "dog" NOT body : "puppy")'
    assert _fts5(conditions[18]) == '(weak : "dog" NOT (body : "puppy" OR body : "dog" OR weak : "puppy"))'


def test_pages_found_every_way_equal_scoring_every_match(backends, monkeypatch):
    with backends.catalog.begin() as connection:
        add_documents(connection, 400)
    with backends.catalog.connect() as connection:
        assert_tiers_match_scoring(connection, monkeypatch)
