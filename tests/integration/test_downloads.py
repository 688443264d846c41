"""The downloader and the URL/folder imports against a local server that misbehaves on purpose."""

from __future__ import annotations

import itertools
import socket
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gather.cli import import_group
from gather.downloads import download_all, url_key
from gather.imports import get_import, latest_import, start_import
from mosaic.backends import Backends
from mosaic.catalog import upgrade
from mosaic.catalog.schema import batch_files, downloads, images
from mosaic.settings import load_settings

PHOTOS = ("dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "person.jpg", "scream.jpg")


def _backends(tmp_path, **overrides) -> Backends:
    settings = dict(data_dir=tmp_path / "var", url_allowlist=["127.0.0.1"], download_backoff=0.01,
                    download_timeout=0.5, download_retries=3, download_concurrency=4, download_per_host=2)
    opened = Backends(load_settings(**{**settings, **overrides}))
    upgrade(opened.catalog)
    return opened


@pytest.fixture
def local(tmp_path):
    opened = _backends(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def photos(photos_dir) -> dict[str, bytes]:
    return {name: (photos_dir / "darknet" / name).read_bytes() for name in PHOTOS}


def _run(backends, urls, **kwargs) -> dict[str, object]:
    return {result.key: result for result in download_all(backends, urls, "url", **kwargs)}


def _original(backends, image_id) -> bytes:
    with backends.catalog.connect() as connection:
        key = connection.execute(select(images.c.object_key).where(images.c.id == image_id)).scalar_one()
    with backends.objects.get(key) as stream:
        return stream.read()


def _count(backends, table=images) -> int:
    with backends.catalog.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def _download_row(backends, url) -> dict:
    with backends.catalog.connect() as connection:
        query = select(downloads).where(downloads.c.url_sha256 == url_key(url))
        return dict(connection.execute(query).mappings().one())


def test_good_urls_are_stored_byte_exact(local, flaky_server, photos):
    urls = [flaky_server.add(f"/{name}", data) for name, data in photos.items()]
    results = _run(local, urls)
    assert {r.state for r in results.values()} == {"stored"}
    for name, data in photos.items():
        assert _original(local, results[flaky_server.url(f"/{name}")].image_id) == data
    assert all(flaky_server.hits[f"/{name}"] == 1 for name in photos)
    assert _download_row(local, urls[0])["state"] == "stored"


def test_429_then_ok_is_stored_after_retries(local, flaky_server, photos):
    url = flaky_server.add("/busy.jpg", photos["dog.jpg"], fail_429=2, retry_after=0)
    result = _run(local, [url])[url]
    assert (result.state, result.attempts, flaky_server.hits["/busy.jpg"]) == ("stored", 3, 3)
    assert _original(local, result.image_id) == photos["dog.jpg"]


def test_5xx_beyond_retries_fails_then_a_rerun_retries_only_what_failed(local, flaky_server, photos):
    good = [flaky_server.add(f"/{name}", photos[name]) for name in ("dog.jpg", "eagle.jpg")]
    bad = flaky_server.add("/broken.jpg", photos["giraffe.jpg"], fail_500=100)
    first = _run(local, [*good, bad])
    assert [first[url].state for url in good] == ["stored", "stored"]
    assert first[bad].state == "failed" and "HTTP 500" in first[bad].error and "after 4 attempts" in first[bad].error
    assert flaky_server.hits["/broken.jpg"] == 4  # 1 try + download_retries
    assert _download_row(local, bad)["state"] == "failed"

    flaky_server.routes["/broken.jpg"].fail_500 = 0  # the server recovered
    flaky_server.reset_hits()
    second = _run(local, [*good, bad])
    assert [second[url].state for url in good] == ["skipped", "skipped"]
    assert flaky_server.hits["/dog.jpg"] == flaky_server.hits["/eagle.jpg"] == 0  # no request at all
    assert second[bad].state == "stored" and flaky_server.hits["/broken.jpg"] == 1
    row = _download_row(local, bad)
    assert (row["state"], row["attempts"], row["error"]) == ("stored", 5, None)


def test_truncated_body_is_retried_and_never_stored_truncated(local, flaky_server, photos):
    data = photos["horses.jpg"]
    once = flaky_server.add("/cut-once.jpg", data, truncate=1)
    always = flaky_server.add("/cut-always.jpg", photos["person.jpg"], truncate=100)
    results = _run(local, [once, always])
    assert results[once].state == "stored" and flaky_server.hits["/cut-once.jpg"] == 2
    assert _original(local, results[once].image_id) == data
    assert results[always].state == "failed" and flaky_server.hits["/cut-always.jpg"] == 4
    assert "truncated" in results[always].error or "IncompleteRead" in results[always].error
    assert _count(local) == 1  # the half photo left nothing behind
    assert not list((local.settings.data_dir / "tmp").iterdir())


def test_slow_reply_beyond_the_timeout_is_retried_then_failed(local, flaky_server, photos):
    once = flaky_server.add("/slow-once.jpg", photos["scream.jpg"], delay=2.0, slow_times=1)
    always = flaky_server.add("/slow-always.jpg", photos["eagle.jpg"], delay=2.0)
    results = _run(local, [once, always])
    assert results[once].state == "stored" and flaky_server.hits["/slow-once.jpg"] == 2
    assert _original(local, results[once].image_id) == photos["scream.jpg"]
    assert results[always].state == "failed" and "timed out" in results[always].error.lower()
    assert flaky_server.hits["/slow-always.jpg"] == 4


def test_a_body_trickling_in_forever_is_cut_off(tmp_path, flaky_server, photos):
    # Every piece arrives within the read timeout, so only the per-attempt deadline (10x) can end it.
    impatient = _backends(tmp_path, download_timeout=0.2, download_retries=0)
    try:
        url = flaky_server.add("/trickle.jpg", photos["dog.jpg"], trickle=0.02)  # 160 x 1 KiB: ~3.3 s
        started = time.monotonic()
        result = _run(impatient, [url])[url]
    finally:
        impatient.close()
    assert result.state == "failed" and "took too long" in result.error
    assert time.monotonic() - started < 3.0 and _count(impatient) == 0


def test_a_body_that_is_not_an_image_fails_without_retries(local, flaky_server):
    url = flaky_server.add("/page.jpg", b"<html>Sorry, this photo is gone</html>", content_type="text/html")
    missing = flaky_server.url("/missing.jpg")
    results = _run(local, [url, missing])
    assert results[url].state == "failed" and "not an image" in results[url].error
    assert results[missing].state == "failed" and results[missing].error == "HTTP 404"
    assert flaky_server.hits["/page.jpg"] == 1 and flaky_server.hits["/missing.jpg"] == 1


def test_same_bytes_at_two_urls_is_one_image_and_a_duplicate(local, flaky_server, photos):
    first = flaky_server.add("/a/dog.jpg", photos["dog.jpg"])
    second = flaky_server.add("/b/dog.jpg", photos["dog.jpg"])
    results = _run(local, [("one", first), ("two", second)])
    assert sorted(r.state for r in results.values()) == ["duplicate", "stored"]
    assert results["one"].image_id == results["two"].image_id and _count(local) == 1


def test_redirects_are_followed_and_checked_at_each_hop(local, flaky_server, photos):
    target = flaky_server.add("/real.jpg", photos["dog.jpg"])
    moved = flaky_server.add("/moved.jpg", redirect="/real.jpg")
    evil = flaky_server.add("/evil.jpg", redirect="http://10.0.0.1/latest/meta-data/")
    loop = flaky_server.add("/loop.jpg", redirect="/loop.jpg")
    results = _run(local, [moved, evil, loop])
    assert results[moved].state == "stored" and flaky_server.hits["/real.jpg"] == 1
    assert _original(local, results[moved].image_id) == photos["dog.jpg"]
    assert results[evil].state == "failed" and "refused" in results[evil].error and "10.0.0.1" in results[evil].error
    assert flaky_server.hits["/evil.jpg"] == 1  # refused on the hop, not retried
    assert results[loop].state == "failed" and "redirects" in results[loop].error
    assert target  # served once, through the redirect only


def test_without_the_allow_list_loopback_is_refused_without_a_request(tmp_path, flaky_server, photos):
    closed = _backends(tmp_path, url_allowlist=[])
    try:
        url = flaky_server.add("/dog.jpg", photos["dog.jpg"])
        result = _run(closed, [url])[url]
    finally:
        closed.close()
    assert result.state == "failed" and "loopback" in result.error
    assert flaky_server.hits["/dog.jpg"] == 0


def test_dns_rebinding_cannot_reach_a_refused_address(tmp_path, flaky_server, photos, monkeypatch):
    # The name looks public when checked, then resolves to 127.0.0.1 when the connection is made.
    flaky_server.add("/dog.jpg", photos["dog.jpg"])
    answers = itertools.chain(["93.184.216.34"], itertools.repeat("127.0.0.1"))
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    closed = _backends(tmp_path, url_allowlist=[])
    try:
        url = f"http://rebind.example:{flaky_server.port}/dog.jpg"
        result = _run(closed, [url])[url]
    finally:
        closed.close()
    assert result.state == "failed" and "loopback" in result.error
    assert flaky_server.hits["/dog.jpg"] == 0


def test_import_counts_and_batch_are_kept_in_the_catalog(local, flaky_server, photos):
    urls = [flaky_server.add(f"/{name}", data) for name, data in photos.items()]
    urls.append(flaky_server.add("/copy.jpg", photos["dog.jpg"]))
    urls.append(flaky_server.add("/text.jpg", b"plain text", content_type="text/plain"))
    import_id = start_import(local, "urls", "test", total=len(urls))
    seen = []
    list(download_all(local, urls, "url", import_id=import_id, progress=seen.append))
    row = get_import(local, import_id)
    assert (row["total"], row["stored"], row["duplicates"], row["failed"], row["skipped"]) == (8, 6, 1, 1, 0)
    assert len(seen) == 8 and row["batch_id"]
    with local.catalog.connect() as connection:
        statuses = connection.execute(
            select(batch_files.c.status, func.count()).where(batch_files.c.batch_id == row["batch_id"])
            .group_by(batch_files.c.status)
        ).all()
    assert dict(statuses) == {"stored": 6, "duplicate": 1, "rejected": 1}
    list(download_all(local, urls, "url", import_id=import_id))
    assert get_import(local, import_id)["skipped"] == 7  # the failed one was tried again


def test_the_url_iterable_is_consumed_lazily(local, flaky_server, photos):
    flaky_server.add("/dog.jpg", photos["dog.jpg"])
    pulled = itertools.count()
    endless = (flaky_server.url(f"/dog.jpg?n={next(pulled)}") for _ in itertools.count())
    results = download_all(local, endless, "url")
    first = list(itertools.islice(results, 10))
    results.close()
    assert len(first) == 10 and {r.state for r in first} <= {"stored", "duplicate"}
    assert next(pulled) <= 10 + 64 + 2 * local.settings.download_concurrency + 1


def test_cli_import_urls_reads_lists_and_csv_and_resumes(local, flaky_server, photos, tmp_path):
    urls = [flaky_server.add(f"/{name}", data) for name, data in photos.items()]
    listing = tmp_path / "urls.txt"
    listing.write_text("# my photos\n\n" + "\n".join(urls[:3]) + "\n  \n# the end\n")
    table = tmp_path / "urls.csv"
    table.write_text("id,url,note\n" + "".join(f'p{i},{url},"a, note"\n' for i, url in enumerate(urls[3:])))
    runner = CliRunner()

    first = runner.invoke(import_group, ["urls", str(listing)], obj=local)
    assert first.exit_code == 0, first.output
    assert "3 stored" in first.stdout
    assert latest_import(local, "urls")["stored"] == 3 and latest_import(local)["state"] == "completed"

    second = runner.invoke(import_group, ["urls", str(table), "--limit", "2"], obj=local)
    assert second.exit_code == 0, second.output
    assert "2 stored" in second.stdout and _count(local) == 5
    with local.catalog.connect() as connection:
        names = set(connection.execute(select(images.c.original_name)).scalars())
    assert {"p0", "p1"} <= names

    again = runner.invoke(import_group, ["urls", str(listing)], obj=local)
    assert "3 skipped" in again.stdout and flaky_server.hits[f"/{PHOTOS[0]}"] == 1
    assert latest_import(local, "urls")["skipped"] == 3


def test_cli_import_dir_does_not_follow_links_out_of_the_folder(local, photos, tmp_path):
    folder, outside = tmp_path / "library", tmp_path / "private"
    (folder / "2024" / "summer").mkdir(parents=True)
    outside.mkdir()
    (folder / "dog.jpg").write_bytes(photos["dog.jpg"])
    (folder / "2024" / "summer" / "eagle.jpg").write_bytes(photos["eagle.jpg"])
    (folder / "2024" / "notes.txt").write_text("not a photo")
    (outside / "secret.jpg").write_bytes(photos["scream.jpg"])
    (outside / "deep").mkdir()
    (outside / "deep" / "also-secret.jpg").write_bytes(photos["person.jpg"])
    (folder / "link-out.jpg").symlink_to(outside / "secret.jpg")
    (folder / "dir-out").symlink_to(outside)
    (folder / "link-in.jpg").symlink_to(folder / "dog.jpg")
    runner = CliRunner()

    result = runner.invoke(import_group, ["dir", str(folder)], obj=local)
    assert result.exit_code == 0, result.output
    assert "2 stored" in result.stdout and "1 duplicate" in result.stdout and "1 rejected" in result.stdout
    assert "1 skipped" in result.stdout and "link-out.jpg" in result.stderr
    stored = {}
    with local.catalog.connect() as connection:
        for image_id, name in connection.execute(select(images.c.id, images.c.original_name)):
            stored[name] = _original(local, image_id)
    assert photos["scream.jpg"] not in stored.values() and photos["person.jpg"] not in stored.values()
    row = latest_import(local, "dir")
    assert (row["total"], row["stored"], row["duplicates"], row["failed"], row["skipped"]) == (5, 2, 1, 1, 1)

    again = runner.invoke(import_group, ["dir", str(folder), "--limit", "2"], obj=local)
    assert again.exit_code == 0 and "2 duplicate" in again.stdout and _count(local) == 2
