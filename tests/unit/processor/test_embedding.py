"""MobileNetV2 similarity vectors on real photos (and generated edge cases, labelled as such)."""

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageOps

from processor.embedding import ImageEmbedder, open_embedder

PHOTOS = ["darknet/dog.jpg", "darknet/eagle.jpg", "darknet/giraffe.jpg", "darknet/horses.jpg", "darknet/kite.jpg",
          "darknet/person.jpg", "darknet/scream.jpg", "exif/starfish.jpg"]


def _photo(photos_dir, name: str) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(photos_dir / name)).convert("RGB")


def _half_size_jpeg_q70(image: Image.Image) -> Image.Image:
    out = io.BytesIO()
    image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS).save(out, "JPEG", quality=70)
    out.seek(0)
    return Image.open(out).convert("RGB")


@pytest.fixture(scope="module")
def embedder() -> ImageEmbedder:
    return open_embedder()


@pytest.fixture(scope="module")
def vectors(embedder, photos_dir) -> dict[str, np.ndarray]:
    return dict(zip(PHOTOS, embedder.embed_many([_photo(photos_dir, name) for name in PHOTOS]), strict=True))


def test_shape_dtype_unit_norm(embedder, vectors):
    assert embedder.dim == 1280 and embedder.version.startswith(embedder.name + ":")
    for vector in vectors.values():
        assert vector.shape == (1280,) and vector.dtype == np.float32
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_one_model_per_process(embedder):
    assert open_embedder() is embedder


def test_deterministic_and_batch_equals_single(embedder, vectors, photos_dir):
    image = _photo(photos_dir, "darknet/dog.jpg")
    assert np.array_equal(embedder.embed(image), embedder.embed(image))
    assert np.allclose(embedder.embed(image), vectors["darknet/dog.jpg"], atol=1e-5)


def test_empty_batch(embedder):
    assert embedder.embed_many([]).shape == (0, 1280)


def test_resized_recompressed_copy_is_nearly_the_same(embedder, vectors, photos_dir):
    for name in PHOTOS:
        copy = embedder.embed(_half_size_jpeg_q70(_photo(photos_dir, name)))
        others = max(float(vectors[name] @ vectors[other]) for other in PHOTOS if other != name)
        assert float(vectors[name] @ copy) > 0.9, name
        assert float(vectors[name] @ copy) > others + 0.15, name


def test_different_photos_are_clearly_apart(vectors):
    dog = vectors["darknet/dog.jpg"]
    assert float(dog @ vectors["darknet/eagle.jpg"]) < 0.75
    assert float(dog @ vectors["darknet/scream.jpg"]) < 0.75


def test_the_two_pentax_field_shots_are_each_others_nearest(vectors):
    # horses.jpg and person.jpg: outdoor shots of animals on grass from the same camera.
    for name, expected in (("darknet/horses.jpg", "darknet/person.jpg"), ("darknet/person.jpg", "darknet/horses.jpg")):
        nearest = max((other for other in PHOTOS if other != name), key=lambda other: vectors[name] @ vectors[other])
        assert nearest == expected


def test_mirror_image_stays_close(embedder, vectors, photos_dir):
    mirrored = embedder.embed(ImageOps.mirror(_photo(photos_dir, "darknet/dog.jpg")))
    assert float(mirrored @ vectors["darknet/dog.jpg"]) > 0.85


def test_generated_odd_inputs(embedder):
    # Generated: a flat grey image (no texture at all), a greyscale and an RGBA image, a 1-pixel-high strip.
    for image in (Image.new("RGB", (50, 50), 128), Image.new("L", (30, 90), 10), Image.new("RGBA", (64, 64)),
                  Image.new("RGB", (500, 1), (200, 10, 10))):
        vector = embedder.embed(image)
        assert np.isfinite(vector).all() and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_importing_the_module_imports_no_torch():
    code = "import sys, processor.embedding; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
