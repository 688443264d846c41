import pytest

from mosaic.settings import SettingsError, load_settings


def test_defaults_put_every_embedded_file_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MOSAIC_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.catalog_url == f"sqlite:///{tmp_path / 'catalog.db'}"
    assert settings.objects_url == str(tmp_path / "objects")
    assert settings.queue_url == f"local://{tmp_path / 'queue.db'}"
    assert settings.vectors_embedded and settings.vectors_file == tmp_path / "vectors.db"


def test_server_urls_pick_the_production_backends(monkeypatch):
    monkeypatch.setenv("MOSAIC_CATALOG_URL", "postgresql://mosaic:secret@db/mosaic")
    monkeypatch.setenv("MOSAIC_VECTORS_URL", "http://milvus:19530")
    monkeypatch.setenv("MOSAIC_QUEUE_URL", "amqp://guest:guest@rabbit:5672/%2F")
    settings = load_settings()
    assert not settings.vectors_embedded
    assert settings.queue_url.startswith("amqp://")


@pytest.mark.parametrize(
    "variable, value",
    [
        ("MOSAIC_CATALOG_URL", "mysql://db/mosaic"),
        ("MOSAIC_QUEUE_URL", "redis://localhost"),
        ("MOSAIC_PORT", "eighty"),
        ("MOSAIC_OBJECTS_URL", "ftp://files"),
        ("MOSAIC_MAX_UPLOAD_BYTES", "0"),
    ],
)
def test_a_wrong_value_fails_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_s3_objects_without_endpoint_say_which_variables_are_missing(monkeypatch):
    monkeypatch.setenv("MOSAIC_OBJECTS_URL", "s3://photos")
    with pytest.raises(SettingsError, match="MOSAIC_S3_ENDPOINT"):
        load_settings()
