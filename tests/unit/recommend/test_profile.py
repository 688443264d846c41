import pytest
from pydantic import ValidationError

from mosaic.vector_layouts import orientation_of
from recommend.candidates import Candidate
from recommend.profile import RecommendRequest
from recommend.signals import score_image

parse = RecommendRequest.model_validate


def test_native_shape_is_normalised():
    request = parse({"colour": "B14343", "tags": [" Dog ", "dog", "Cat"], "make": "NIKON CORPORATION",
                     "orientation": "portrait", "limit": 5})
    assert request.profile.colour == "#b14343"
    assert request.profile.tags == ["dog", "cat"]
    assert request.profile.make == "Nikon"
    assert request.limit == 5 and request.profile_id is None


def test_original_platform_shape_maps_to_the_native_one():
    request = parse({"preferences": {"dominant_color": "#b14343", "imagewidth": 800, "imageheight": 600,
                                     "orientation": 1, "tags": ["cat", "person"], "make": "Canon"}})
    profile = request.profile
    assert (profile.colour, profile.width, profile.height, profile.orientation) == ("#b14343", 800, 600, "landscape")
    assert parse({"preferences": {"orientation": 0}}).profile.orientation == "any"
    assert parse({"preferences": {"orientation": "portrait"}}).profile.orientation == "portrait"


@pytest.mark.parametrize("payload, field", [
    ({"colour": "reddish"}, "colour"),
    ({"width": -3}, "width"),
    ({"orientation": "diagonal"}, "orientation"),
    ({"tags": ["a", "b", "c", "d", "e", "f"]}, "tags"),
    ({"limit": 0}, "limit"),
    ({"colour": "#fff", "unknown": 1}, "unknown"),
    (["not", "an", "object"], "valid dictionary"),
    ({"preferences": {"imagewidth": "wide"}}, "width"),
])
def test_bad_profiles_are_refused_naming_the_field(payload, field):
    with pytest.raises(ValidationError, match=field):
        parse(payload)


def _candidate(**kwargs) -> Candidate:
    values = {"id": "x", "width": 3000, "height": 2000, "make": "Canon", "tags": {"dog"},
              "colours": [{"hex": "#b14343", "lab_l": 43.0, "lab_a": 47.0, "lab_b": 24.0, "share": 0.6}]}
    return Candidate(**{**values, **kwargs})


def test_score_rewards_each_matching_preference_and_explains_it():
    profile = parse({"colour": "#b14343", "width": 3000, "height": 2000, "orientation": "landscape",
                     "tags": ["dog", "beach"], "make": "Canon"}).profile
    score, explanation = score_image(profile, _candidate())
    assert set(explanation) == {"colour", "size", "orientation", "tags", "make"}
    assert explanation["tags"]["matched"] == ["dog"] and explanation["tags"]["missing"] == ["beach"]
    assert sum(part["weight"] for part in explanation.values()) == pytest.approx(1.0)
    worse, _ = score_image(profile, _candidate(make="Nikon", width=2000, height=3000))
    assert 0 < worse < score <= 1


def test_orientation_of_dimensions():
    assert orientation_of(3000, 2000) == "landscape"
    assert orientation_of(2000, 3000) == "portrait"
    assert orientation_of(1000, 1010) == "square"
