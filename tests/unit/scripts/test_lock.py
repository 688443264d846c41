"""The locks say what a fresh machine installs: they must match pyproject.toml, and .venv must match them."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _lock_module():
    spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock = _lock_module()
LOCKS = (lock.LOCK, lock.DOCKER_LOCK, lock.NODEPS_LOCK)


@pytest.mark.parametrize("path", LOCKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_lock_was_made_from_the_current_declarations(path):
    assert lock.stamped_digest(path) == lock.declared_digest(), (
        f"pyproject.toml's dependencies changed since {path.name} was made: run `make lock` and commit the locks")


def test_the_digest_follows_requirements_not_tool_settings(tmp_path):
    pyproject = (ROOT / "pyproject.toml").read_text()
    changed_tool = tmp_path / "tool.toml"
    changed_tool.write_text(pyproject.replace('line-length = 120', 'line-length = 100'))
    changed_range = tmp_path / "range.toml"
    changed_range.write_text(pyproject.replace('"numpy>=1.26,<3"', '"numpy>=1.26,<4"'))
    assert lock.declared_digest(changed_tool) == lock.declared_digest()
    assert lock.declared_digest(changed_range) != lock.declared_digest()


def test_every_pin_is_exact_and_hashed():
    for path in LOCKS:
        text = path.read_text()
        for line in lock._requirement_lines(path):
            assert "==" in line, f"{path.name}: {line} is not an exact pin"
        entries = [block for block in text.split("\n") if "==" in block and not block.startswith("#")]
        assert text.count("--hash=sha256:") >= len(entries), f"{path.name}: a pin without a hash"


def test_every_runtime_range_stops_below_the_next_major():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [r for extra in ("ml", "serve", "lab") for r in
                                          project["optional-dependencies"][extra]]
    open_ended = [r for r in declared if "==" not in r and "<" not in r]
    assert open_ended == [], f"ranges without an upper bound: {open_ended}"


def test_the_docker_lock_agrees_with_the_main_lock():
    main, docker = lock.locked_versions(lock.LOCK), lock.locked_versions(lock.DOCKER_LOCK)
    differing = {name: (main.get(name), version) for name, version in docker.items() if main.get(name) != version}
    assert differing == {}


def test_the_installed_packages_are_exactly_the_lock():
    """A hand-installed package would hide a missing lock entry: .venv holds what the locks say, nothing else."""
    wanted = {**lock.locked_versions(lock.LOCK), **lock.locked_versions(lock.NODEPS_LOCK)}
    # Only site-packages: once pkg_resources is imported, setuptools' vendored copies join sys.path too.
    site = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    installed = {lock.normalise(d.metadata["Name"]): d.version for d in importlib.metadata.distributions(path=site)}
    installed.pop("mosaic", None)  # the project itself, installed editable
    wrong = {name: (version, installed.get(name)) for name, version in wanted.items()
             if installed.get(name) != version}
    extra = sorted(set(installed) - set(wanted))
    assert wrong == {}, f"installed versions differ from the lock (locked, installed): {wrong}"
    assert extra == [], f"installed but not in the lock: {extra}"


def test_opencv_is_the_major_the_ssd_detector_was_written_for():
    # OpenCV 5 removed cv2.dnn.readNetFromTensorflow; the SSD detector must be ported before the bound moves.
    import cv2

    assert cv2.__version__.startswith("4.")
    assert hasattr(cv2.dnn, "readNetFromTensorflow")
