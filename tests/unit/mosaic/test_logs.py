"""MOSAIC_LOG_LEVEL and MOSAIC_LOG_FORMAT: one JSON object per line carrying the photo or request id."""

from __future__ import annotations

import json
import logging

import pytest

from mosaic.logs import configure_logging, log_context


@pytest.fixture(autouse=True)
def _restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_photo_and_request_ids(capsys):
    configure_logging("INFO", "json")
    log = logging.getLogger("mosaic.test")
    with log_context(photo_id="p1"), log_context(request_id="r1"):
        log.info("harvested %s", "dog.jpg")
    log.debug("not at INFO")
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["harvested dog.jpg", "failed"]
    assert lines[0]["photo_id"] == "p1" and lines[0]["request_id"] == "r1" and lines[0]["level"] == "INFO"
    assert lines[1]["photo_id"] is None and "ValueError: bad" in lines[1]["exc_info"]


def test_text_lines_name_the_ids_and_the_level_filters(capsys):
    configure_logging("WARNING", "text")
    log = logging.getLogger("mosaic.test")
    log.info("quiet")
    with log_context(photo_id="p2"):
        log.warning("loud")
    err = capsys.readouterr().err
    assert "quiet" not in err and "loud [photo_id=p2]" in err


def test_a_wrong_log_format_stops_the_start_naming_the_variable(monkeypatch):
    from mosaic.settings import SettingsError, load_settings

    monkeypatch.setenv("MOSAIC_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="MOSAIC_LOG_FORMAT"):
        load_settings()
