"""`mosaic lab`: Jupyter Lab on the notebooks in `notebooks/`, never without a token.

The token comes from MOSAIC_LAB_TOKEN (the environment, else `.env`); when it is not set at all
one is generated and printed with the URL. Set but empty (or too short) stops the command: an open
Jupyter server runs anyone's code. The token reaches Jupyter through JUPYTER_TOKEN, not the command
line, so `ps` does not show it.

The kernels inherit Mosaic's settings (catalog, objects, queue and vectors URLs, the data dir and
every setting given), so a notebook's `load_settings()` sees the catalog `mosaic lab` was started on,
wherever the notebook's own folder is.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

import click
from pydantic import SecretStr

from mosaic.settings import ENV_PREFIX, Settings

TOKEN_VARIABLE = "MOSAIC_LAB_TOKEN"
MIN_TOKEN_LENGTH = 16
DEFAULT_PORT = 8888
# Always passed on: where the backends are, even when they were derived from the data dir.
RESOLVED = ("data_dir", "catalog_url", "objects_url", "queue_url", "vectors_url")


class LabError(click.ClickException):
    """The lab cannot start; the message says why and what to set."""


def dotenv_value(name: str) -> str | None:
    """A variable from the environment, else from `.env` in the working directory (as settings read it)."""
    if name in os.environ:
        return os.environ[name]
    if Path(".env").is_file():
        from dotenv import dotenv_values

        return dotenv_values(".env").get(name)
    return None


def lab_token(value: str | None) -> tuple[str, bool]:
    """(token, generated): a new token when none is set; a set but empty or short one is refused."""
    if value is None:
        return secrets.token_hex(24), True
    token = value.strip()
    if not token:
        raise LabError(f"{TOKEN_VARIABLE} is set but empty: Jupyter Lab never starts without a token. "
                       f"Unset it to have one generated, or set one (e.g. `openssl rand -hex 24`).")
    if len(token) < MIN_TOKEN_LENGTH:
        raise LabError(f"{TOKEN_VARIABLE} is too short ({len(token)} characters; at least {MIN_TOKEN_LENGTH}): "
                       f"anyone who guesses it runs code here. Use e.g. `openssl rand -hex 24`.")
    return token, False


def notebooks_dir(given: str | None) -> Path:
    """The lab's root: --notebooks, else ./notebooks (the repository, /app in the image), else the source tree's."""
    if given:
        folder = Path(given)
    elif (Path.cwd() / "notebooks").is_dir():
        folder = Path.cwd() / "notebooks"
    else:
        folder = Path(__file__).resolve().parents[1] / "notebooks"
    if not folder.is_dir():
        raise LabError(f"no notebooks folder at {folder}: pass --notebooks DIR")
    return folder.absolute()


def settings_environment(settings: Settings) -> dict[str, str]:
    """MOSAIC_* variables reproducing these settings in a child process (the kernels)."""
    env = {}
    for name in sorted(set(RESOLVED) | set(settings.model_fields_set)):
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, dict | list):
            value = json.dumps(value)
        env[ENV_PREFIX + name.upper()] = str(value)
    return env


def lab_command_line(host: str, port: int, root: Path) -> list[str]:
    return [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # the port asked for, or an error: not a silent other one
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",  # no calls home (offline hosts)
        "--LabApp.extension_manager=readonly",  # no installing extensions from PyPI through the browser
    ]


def start_lab(settings: Settings, host: str, port: int, notebooks: str | None) -> None:
    """Replace this process with Jupyter Lab (so signals reach it directly, as PID 1 in a container)."""
    token, generated = lab_token(dotenv_value(TOKEN_VARIABLE))
    root = notebooks_dir(notebooks)
    env = {**os.environ, **settings_environment(settings), "JUPYTER_TOKEN": token}
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    where = f"http://{shown}:{port}/lab?token={token}"
    click.echo(f"Jupyter Lab on {root} ({'generated token' if generated else TOKEN_VARIABLE}): {where}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    command = lab_command_line(host, port, root)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Jupyter refuses root unless told; the image runs it as the `mosaic` user.
        click.echo("warning: running Jupyter Lab as root", err=True)
        command.append("--ServerApp.allow_root=True")
    os.execve(command[0], command, env)
