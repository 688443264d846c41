"""docker-compose.yml, gateway/nginx.conf and the images' Dockerfiles, checked without a Docker engine.

`docker-compose config` (Debian's docker-compose 1.29) validates the file against the Compose
Specification and resolves anchors and `${VAR}`s; the checks below then read the resolved file.
The Dockerfiles cannot be built here, so their install steps are read instead.
"""

from __future__ import annotations

import fnmatch
import os
import re
import secrets
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from gateway.cli import cli
from gateway.wsgi import NAMES as WSGI_NAMES
from mosaic.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
NGINX = ROOT / "gateway" / "nginx.conf"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
NGINX_DOCKERFILE = ROOT / "docker" / "nginx.Dockerfile"
# The image's Python packages come only from these (scripts/lock.py writes them), paths from the repository root.
IMAGE_LOCKS = ("docker/requirements.lock", "requirements-nodeps.lock")
PREFIXES = ("gather", "harvest", "recommend", "visualize", "cdn", "api")
ONE_SHOT = {"migrate"}  # run to completion; the others wait with service_completed_successfully
WSGI_COMMAND = re.compile(r"^gateway\.wsgi:service_app\('(\w+)'\)$")
GUNICORN_PORT = "8000"


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose not found: apt-get install docker-compose (make test does)", pytrace=False)
    return found


def _clean_env() -> dict:
    # Only the .env under test may set the file's variables, not whatever this shell exports.
    return {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "COMPOSE_", "DOCKER_"))}


def _compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_docker_compose(), "--project-name", "mosaic", "-f", str(COMPOSE), "--env-file", str(env_file), *args],
        cwd=env_file.parent,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _filled_env(folder: Path) -> Path:
    """.env.example with every empty (required) value filled with a generated secret."""
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        if re.fullmatch(r"[A-Z0-9_]+=", line):
            line += secrets.token_hex(16)
        lines.append(line)
    env = folder / ".env"
    env.write_text("\n".join(lines) + "\n")
    return env


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict:
    env = _filled_env(tmp_path_factory.mktemp("compose"))
    quiet = _compose(env, "config", "-q")
    assert quiet.returncode == 0, f"docker-compose config -q failed:\n{quiet.stderr}"
    full = _compose(env, "config")
    assert full.returncode == 0, full.stderr
    return yaml.safe_load(full.stdout)


@pytest.fixture(scope="module")
def services(resolved) -> dict:
    return resolved["services"]


def _python_services(services: dict) -> dict:
    return {
        name: s
        for name, s in services.items()
        if isinstance(s.get("build"), dict) and s["build"].get("dockerfile", "").endswith("docker/Dockerfile")
    }


def _nginx() -> str:
    return re.sub(r"#[^\n]*", "", NGINX.read_text())


def test_compose_refuses_to_start_without_secrets(tmp_path):
    env = tmp_path / ".env"
    shutil.copy(ENV_EXAMPLE, env)  # as shipped: every secret empty
    result = _compose(env, "config", "-q")
    assert result.returncode != 0
    assert re.search(r"set MOSAIC_\w+ in \.env", result.stderr), result.stderr


def test_no_secret_has_a_default():
    text = COMPOSE.read_text()
    defaulted = re.findall(r"\$\{(\w*(?:PASSWORD|SECRET|TOKEN)\w*):?-", text)
    assert not defaulted, f"secrets with defaults: {defaulted}"
    for name in re.findall(r"\$\{(\w*(?:PASSWORD|SECRET|TOKEN)\w*)", text):
        assert re.search(rf"\$\{{{name}:\?", text), f"{name} must use ${{{name}:?message}}"


def test_every_service_has_a_healthcheck(services):
    missing = [
        name
        for name, service in services.items()
        if name not in ONE_SHOT and not service.get("healthcheck", {}).get("test")
    ]
    assert not missing, f"services without a healthcheck: {missing}"
    assert not any(s.get("healthcheck", {}).get("disable") for s in services.values())


def test_dependencies_wait_for_health(services):
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for other, rule in depends.items():
            expected = "service_completed_successfully" if other in ONE_SHOT else "service_healthy"
            assert rule.get("condition") == expected, f"{name} -> {other}: {rule}"
    for name in set(_python_services(services)) - ONE_SHOT:
        assert "migrate" in services[name]["depends_on"], f"{name} may start before the schema is migrated"


def test_python_services_run_a_mosaic_verb_or_the_wsgi_entry(services):
    python = _python_services(services)
    served = set()
    for name, service in python.items():
        command = service["command"]
        assert isinstance(command, list), f"{name}: exec form, so signals reach the process"
        if command[0] == "gunicorn":
            match = WSGI_COMMAND.match(command[-1])
            assert match and match.group(1) in WSGI_NAMES, f"{name}: {command}"
            served.add(match.group(1))
        else:
            assert command[0] == "mosaic", f"{name}: {command}"
            group, path = cli, command[1:]
            while path:  # every word is a real command of `mosaic` (or of one of its groups)
                assert path[0] in group.commands, f"{name}: no `mosaic ... {path[0]}` command"
                group, path = group.commands[path[0]], path[1:]
    assert served == set(PREFIXES), f"web containers serve {served}"
    verbs = {tuple(s["command"][1:]) for s in python.values() if s["command"][0] == "mosaic"}
    assert {("dispatcher",), ("harvest-worker",), ("processor",), ("import-worker",), ("db", "upgrade")} <= verbs


def test_only_visualize_builds_the_image_with_chromium(services):
    """PNG export needs a browser (kaleido); the other services must not carry its ~300 MB."""
    targets = {name: service["build"].get("target") for name, service in _python_services(services).items()}
    assert targets.pop("visualize") == "visualize"
    assert set(targets.values()) == {"base"}, targets
    stages = re.split(r"^FROM ", (ROOT / "docker" / "Dockerfile").read_text(), flags=re.MULTILINE)
    visualize = next(stage for stage in stages if stage.startswith("base AS visualize"))
    assert re.search(r"apt-get install [^\n]*\bchromium\b", visualize), visualize
    assert not any("chromium" in stage for stage in stages if not stage.startswith("base AS visualize")
                   and "apt-get" in stage)


def test_backends_and_scalable_workers(services):
    for backend in ("postgres", "rabbitmq", "minio", "milvus", "etcd", "milvus-minio", "gateway"):
        assert backend in services
    assert "management" in services["rabbitmq"]["image"]
    assert set(services["milvus"]["depends_on"]) == {"etcd", "milvus-minio"}
    for worker in ("harvest_worker", "processor"):  # docker compose up --scale harvest_worker=8
        assert "container_name" not in services[worker] and "ports" not in services[worker]


def test_data_lives_in_named_volumes(resolved):
    declared = set(resolved.get("volumes") or {})
    for name, service in resolved["services"].items():
        for mount in service.get("volumes", []):
            source = mount["source"] if isinstance(mount, dict) else mount.split(":")[0]
            assert source in declared, f"{name}: {mount} is not a named volume"


def test_env_example_lists_every_setting():
    listed = set(re.findall(r"^#? ?(MOSAIC_\w+)=", ENV_EXAMPLE.read_text(), re.M))
    mentioned = set(re.findall(r"MOSAIC_\w+", ENV_EXAMPLE.read_text()))
    for field in Settings.model_fields:
        assert f"MOSAIC_{field.upper()}" in mentioned, f"MOSAIC_{field.upper()} missing from .env.example"
    used = set(re.findall(r"\$\{(MOSAIC_\w+)", COMPOSE.read_text()))
    assert used <= listed, f"compose variables not in .env.example: {used - listed}"


def test_nginx_routes_every_service_prefix(services):
    conf = _nginx()
    upstreams = {name: body for name, body in re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", conf)}
    wsgi_hosts = {
        WSGI_COMMAND.match(s["command"][-1]).group(1): name
        for name, s in _python_services(services).items()
        if s["command"][0] == "gunicorn"
    }
    for prefix in PREFIXES:
        block = re.search(rf"location\s+/{prefix}/\s*\{{([^}}]*)\}}", conf)
        assert block, f"nginx.conf has no `location /{prefix}/`"
        # No URI part after the upstream: the path reaches the service with its prefix, which
        # gateway/wsgi.py mounts the service under (as the local gateway does).
        upstream = re.search(r"proxy_pass\s+http://(\w+)\s*;", block.group(1))
        assert upstream, f"location /{prefix}/ must `proxy_pass http://<upstream>;` with no URI part"
        server = re.search(r"server\s+([\w.-]+):(\d+)", upstreams[upstream.group(1)])
        assert server.groups() == (wsgi_hosts[prefix], GUNICORN_PORT), f"/{prefix}/ goes to {server.groups()}"
    assert re.search(r"location\s+/\s*\{[^}]*root\s", conf), "/ serves the static frontend"


def test_nginx_upload_limits_match_settings():
    conf = _nginx()
    size = re.search(r"client_max_body_size\s+(\d+)([kmg]?)\s*;", conf, re.I)
    assert size, "client_max_body_size is not set"
    factor = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[size.group(2).lower()]
    assert int(size.group(1)) * factor == Settings.model_fields["max_request_bytes"].default
    gather = re.search(r"location\s+/gather/\s*\{([^}]*)\}", conf).group(1)
    assert re.search(r"proxy_request_buffering\s+off", gather)
    assert int(re.search(r"proxy_read_timeout\s+(\d+)s", gather).group(1)) >= 600
    cdn = re.search(r"location\s+/cdn/\s*\{([^}]*)\}", conf).group(1)
    assert not re.search(r"proxy_hide_header|proxy_ignore_headers|add_header|expires", cdn), "cdn caching headers"


# -- the images' Dockerfiles ----------------------------------------------------------------------


def _stages(dockerfile: Path) -> dict[str, list[tuple[str, str]]]:
    """{stage name: [(INSTRUCTION, arguments)]}, continuation lines joined and comments dropped."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    logical = ""
    for line in dockerfile.read_text().splitlines():
        if line.lstrip().startswith("#"):  # a comment, also between continuation lines
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical = (logical + line).strip()
        if logical:
            instruction, _, arguments = logical.partition(" ")
            if instruction.upper() == "FROM":
                words = arguments.split()
                current = stages.setdefault(words[-1] if len(words) > 2 else f"#{len(stages)}", [])
            current.append((instruction.upper(), arguments.strip()))
        logical = ""
    return stages


def _commands(run: str) -> list[list[str]]:
    """The simple commands of a RUN line's shell script, split at &&, ||, ; and |."""
    lexer = shlex.shlex(run, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, words = [], []
    for token in lexer:
        if token in ("&&", "||", ";", "|", "&"):
            commands.append(words)
            words = []
        else:
            words.append(token)
    return [*commands, words]


# pip options that take a value: what follows them is not a requirement.
PIP_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
                     "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--platform",
                     "--python-version", "--implementation", "--abi", "--progress-bar", "--report"}


def _pip_installs(stage: list[tuple[str, str]]) -> list[tuple[int, dict]]:
    """(instruction index, {"options", "files", "indexes", "requirements"}) of every `pip install`."""
    found = []
    for index, (instruction, arguments) in enumerate(stage):
        if instruction != "RUN":
            continue
        for words in _commands(arguments):
            if "pip" not in [Path(w).name for w in words[:3]] or "install" not in words:
                continue
            args = words[words.index("install") + 1:]
            parsed = {"options": set(), "files": [], "indexes": [], "requirements": []}
            while args:
                word = args.pop(0)
                if word in PIP_VALUE_OPTIONS:
                    value = args.pop(0)
                    if word in ("-r", "--requirement"):
                        parsed["files"].append(value)
                    elif word in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links"):
                        parsed["indexes"].append(value)
                elif word.startswith("-"):
                    parsed["options"].add(word.split("=")[0])
                else:
                    parsed["requirements"].append(word)
            found.append((index, parsed))
    return found


def _copied(stage: list[tuple[str, str]]) -> list[tuple[int, list[str], str, str | None]]:
    """(instruction index, sources, destination, --from stage) of every COPY."""
    copies = []
    for index, (instruction, arguments) in enumerate(stage):
        if instruction == "COPY":
            words = arguments.split()
            flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
            paths = [w for w in words if not w.startswith("--")]
            copies.append((index, paths[:-1], paths[-1], flags.get("from")))
    return copies


def _requirement_block(lock: str, name: str) -> list[str]:
    """A lock file's entry for one package: its `name==version` line and its `--hash=` lines."""
    lines = (ROOT / lock).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}=="))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.strip().startswith("--hash="):
            break
        block.append(line)
    return [line.strip().rstrip(" \\").strip() for line in block]


def test_image_installs_python_packages_only_from_the_hashed_locks():
    """No pip resolution in the image: every package at its locked version, checked against its hash."""
    stages = _stages(DOCKERFILE)
    for name, stage in stages.items():
        for _, pip in _pip_installs(stage):
            # `--no-deps` everywhere: pip never picks a version the lock did not, for a dependency either.
            assert "--no-deps" in pip["options"], f"{name}: pip install without --no-deps: {pip}"
            # No `pip install <name>`: only the lock files or the project itself (`.`).
            assert pip["requirements"] in ([], ["."]), f"{name}: pip resolves {pip['requirements']}"
            if pip["requirements"] == ["."]:
                # Without isolation the locked setuptools builds the project: nothing fetched unhashed.
                assert not pip["files"] and "--no-build-isolation" in pip["options"], f"{name}: {pip}"
            else:
                assert pip["files"] and "--require-hashes" in pip["options"], f"{name}: {pip}"

    base = stages["base"]
    installs = _pip_installs(base)
    locks = [(i, pip) for i, pip in installs if set(IMAGE_LOCKS) <= set(pip["files"])]
    assert len(locks) == 1, f"base must install {IMAGE_LOCKS} in one step: {installs}"
    lock_step, lock_install = locks[0]
    assert not lock_install["indexes"], "the locks' packages come from PyPI; only torch from PyTorch's index"
    project = [i for i, pip in installs if pip["requirements"] == ["."]]
    assert len(project) == 1 and project[0] > lock_step, "the project is installed once, after its dependencies"

    copies = _copied(base)
    for lock in IMAGE_LOCKS:
        copied = [i for i, sources, _, origin in copies if origin is None and lock in sources]
        assert copied and copied[0] < lock_step, f"{lock} is not copied before it is installed"
    # The dependency layer comes before the source: a code change must not reinstall the dependencies.
    source = min(i for i, sources, _, origin in copies if origin is None and "mosaic" in sources)
    assert lock_step < source < project[0], "install the locks, copy the source, then install the project"


def test_image_locks_are_in_the_build_context():
    ignore = ROOT / "docker" / "Dockerfile.dockerignore"
    patterns = [line.strip().lstrip("/") for line in ignore.read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def excluded(path: str) -> bool:
        # Docker: the last matching pattern wins, and one on a folder covers its content. fnmatch's `*`
        # also crosses `/`, so this errs towards "excluded".
        verdict = False
        for pattern in patterns:
            negated, glob = pattern.startswith("!"), pattern.lstrip("!")
            globs = {glob, glob.removeprefix("**/")}
            parts = path.split("/")
            prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
            if any(fnmatch.fnmatch(prefix, g) for prefix in prefixes for g in globs):
                verdict = not negated
        return verdict

    for lock in IMAGE_LOCKS:
        assert (ROOT / lock).is_file(), f"{lock} is missing: make lock"
        assert not excluded(lock), f"{ignore.name} keeps {lock} out of the build context"


def test_project_builds_with_the_locked_setuptools():
    """--no-build-isolation builds with what is installed: the lock must hold a fitting setuptools."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    (pin, *hashes) = _requirement_block("docker/requirements.lock", "setuptools")
    version = pin.partition("==")[2]
    assert hashes
    for requirement in map(Requirement, pyproject["build-system"]["requires"]):
        if requirement.name == "setuptools":
            assert requirement.specifier.contains(version), f"locked setuptools {version} is not {requirement}"


def test_torch_alone_comes_from_pytorchs_cpu_index_with_its_locked_hash(tmp_path):
    """The torch-pin stage cuts torch's entry out of the lock; run its script on the real lock."""
    stages = _stages(DOCKERFILE)
    torch = _requirement_block("docker/requirements.lock", "torch")
    assert torch[0].endswith("+cpu") and len(torch) > 1, f"the lock must pin the hashed CPU build: {torch}"

    pin_stage = stages["torch-pin"]
    [(_, [source], copied_to, _)] = _copied(pin_stage)
    assert source == "docker/requirements.lock"
    [(_, [produced], torch_file, _)] = [c for c in _copied(stages["base"]) if c[3] == "torch-pin"]
    [script] = [arguments for instruction, arguments in pin_stage if instruction == "RUN"]
    shutil.copy(ROOT / source, tmp_path / "requirements.lock")
    script = script.replace(copied_to, str(tmp_path / "requirements.lock")).replace(produced, str(tmp_path / "torch"))
    subprocess.run(["sh", "-ec", script], check=True, timeout=30)
    extracted = [line.strip().rstrip(" \\").strip() for line in (tmp_path / "torch").read_text().splitlines()]
    assert extracted == torch

    indexed = [pip for _, pip in _pip_installs(stages["base"]) if pip["indexes"]]
    assert [pip["files"] for pip in indexed] == [[torch_file]], "only torch's entry is installed from its index"
    assert "--require-hashes" in indexed[0]["options"]
    args = dict(arguments.partition("=")[::2] for instruction, arguments in stages["base"] if instruction == "ARG")
    assert indexed[0]["indexes"] == ["${TORCH_INDEX_URL}"]
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"


def test_image_keeps_its_cpu_torch_check():
    runs = " ".join(arguments for instruction, arguments in _stages(DOCKERFILE)["base"] if instruction == "RUN")
    assert "torch.version.cuda is None" in runs and "gunicorn --version" in runs


def test_frontend_builds_with_node_20_from_its_lock_file():
    stages = _stages(NGINX_DOCKERFILE)
    node = [(name, stage) for name, stage in stages.items() if stage[0][1].startswith("node:")]
    assert len(node) == 1, f"one Node stage expected: {list(stages)}"
    name, stage = node[0]
    image = stage[0][1].split()[0]
    # `node:20`, `node:20-alpine`, `node:20.18-bookworm-slim`: the major is pinned, never `node:lts` or `latest`.
    assert re.fullmatch(r"node:20(?:[.-][\w.-]+)?(?:@sha256:[0-9a-f]{64})?", image), f"{name}: {image}"
    commands = [words for instruction, arguments in stage if instruction == "RUN" for words in _commands(arguments)]
    npm = [words[1] for words in commands if words[:1] == ["npm"] and len(words) > 1]
    assert "ci" in npm, f"{name}: the frontend's packages must come from package-lock.json (npm ci)"
    assert not {"install", "i", "add", "update", "up"} & set(npm), f"{name}: npm resolves packages: {npm}"
    assert npm.index("ci") < npm.index("run"), f"{name}: npm ci before the build"
