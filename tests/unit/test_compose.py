"""docker-compose.yml and gateway/nginx.conf, checked without a Docker engine.

`docker-compose config` (Debian's docker-compose 1.29) validates the file against the Compose
Specification and resolves anchors and `${VAR}`s; the checks below then read the resolved file.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gateway.cli import cli
from gateway.wsgi import NAMES as WSGI_NAMES
from mosaic.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
NGINX = ROOT / "gateway" / "nginx.conf"
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
