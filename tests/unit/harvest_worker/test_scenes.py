"""Scene labels from EfficientNet-Lite3 on real photos (and one generated image, labelled as such)."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageOps

from harvest_worker.scenes import KEPT, Scene, SceneClassifier, short_label

DOG_AND_BICYCLE = {"malamute", "german shepherd", "eskimo dog", "siberian husky", "bicycle-built-for-two",
                   "mountain bike", "tricycle"}


def _photo(photos_dir, name: str) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(photos_dir / name)).convert("RGB")


@pytest.fixture(scope="module")
def classifier() -> SceneClassifier:
    return SceneClassifier()


def test_version_names_the_model():
    assert SceneClassifier.version.startswith(SceneClassifier.name + ":")


def test_imagenet_names_become_lower_case_first_synonyms():
    assert short_label("seashore, coast, seacoast, sea-coast") == "seashore"
    assert short_label("Great Pyrenees") == "great pyrenees"


def test_eagle_is_a_bird_of_prey(classifier, photos_dir):
    labels = [scene.label for scene in classifier.classify(_photo(photos_dir, "darknet/eagle.jpg"), threshold=0.05)]
    assert labels[0] == "bald eagle"
    assert "kite" in labels  # the bird: ImageNet class 21


def test_dog_photo_names_a_dog_breed_or_the_bicycle(classifier, photos_dir):
    scenes = classifier.classify(_photo(photos_dir, "darknet/dog.jpg"), threshold=0.05)
    assert scenes[0].label in DOG_AND_BICYCLE
    assert scenes[0].score > 0.2


def test_beach_kite_photo_is_a_seashore(classifier, photos_dir):
    scenes = classifier.classify(_photo(photos_dir, "darknet/kite.jpg"))
    assert scenes[0] == Scene("seashore", scenes[0].score) and scenes[0].score > 0.5


def test_scores_sorted_bounded_and_labels_are_words(classifier, photos_dir):
    for name in ("darknet/giraffe.jpg", "darknet/horses.jpg", "darknet/person.jpg", "exif/starfish.jpg"):
        scenes = classifier.classify(_photo(photos_dir, name), top=5, threshold=0.01)
        assert 1 <= len(scenes) <= 5
        scores = [scene.score for scene in scenes]
        assert scores == sorted(scores, reverse=True)
        assert all(0.01 <= score <= 1 for score in scores)
        assert len({scene.label for scene in scenes}) == len(scenes)
        for scene in scenes:
            assert scene.label == scene.label.lower().strip() and "," not in scene.label


def test_threshold_and_top_limit_the_answer(classifier, photos_dir):
    image = _photo(photos_dir, "darknet/eagle.jpg")
    everything = classifier.classify(image, top=1000, threshold=1e-6)
    # The output is quantised in steps of 1/256: most classes score exactly 0 and never qualify.
    assert 3 < len(everything) < 100
    assert all(scene.score * 256 == pytest.approx(round(scene.score * 256), abs=0.03) for scene in everything)
    assert classifier.classify(image, top=2, threshold=1e-6) == everything[:2]
    # By default: the top KEPT labels whatever their scores (search needs them), never one the model gave 0.
    assert classifier.classify(image) == everything[:KEPT]
    assert all(scene.score > 0 for scene in classifier.classify(image, threshold=0.0, top=1000))
    assert classifier.classify(image, threshold=0.999) == []


def test_deterministic(classifier, photos_dir):
    image = _photo(photos_dir, "darknet/giraffe.jpg")
    assert classifier.classify(image, threshold=0.01) == classifier.classify(image.copy(), threshold=0.01)


def test_odd_shapes_and_modes(classifier):
    # Generated: a 2000x40 strip, a 40x2000 strip, a greyscale and an RGBA image all classify without error.
    rng = np.random.default_rng(0)
    for image in (
        Image.fromarray(rng.integers(0, 256, (40, 2000, 3), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 256, (2000, 40, 3), dtype=np.uint8)),
        Image.new("L", (300, 200), 128),
        Image.new("RGBA", (64, 64), (10, 200, 30, 128)),
    ):
        scenes = classifier.classify(image, threshold=1e-6)
        assert scenes and all(isinstance(scene, Scene) for scene in scenes)


def test_importing_the_module_loads_no_model():
    code = ("import sys, harvest_worker.scenes; "
            "print(any(m.startswith(('ai_edge_litert', 'openpibo', 'numpy')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
