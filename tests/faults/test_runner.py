"""`mosaic run` under faults: killed whole, killed in parts, stopped without SIGINT, started twice.

Real processes throughout. A process belongs to a run when its environment holds that run's
MOSAIC_DATA_DIR: that finds the runner, Milvus Lite, gunicorn and every worker, and it still finds
them once they are orphaned (re-parented to init), which is what these tests look for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from gateway.runner import Child, Supervisor
from tests.servers import free_port

WORKER_VERBS = ("dispatcher", "processor", "import-worker", "harvest-worker", "purger")


@dataclass
class Run:
    process: subprocess.Popen
    data_dir: Path
    base: str
    log: Path

    def processes(self) -> list[psutil.Process]:
        return run_processes(self.data_dir)

    def workers(self, verb: str) -> list[psutil.Process]:
        """Live worker processes of the runner running `mosaic <verb>`."""
        found = []
        for process in self.processes():
            try:
                if process.ppid() == self.process.pid and verb in process.cmdline():
                    found.append(process)
            except psutil.Error:
                continue
        return found

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def run_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and process.environ().get("MOSAIC_DATA_DIR") == str(data_dir):
                found.append(process)
        except psutil.Error:
            continue
    return found


def describe(processes: list[psutil.Process]) -> list[str]:
    described = []
    for process in processes:
        try:
            described.append(f"{process.pid} (parent {process.ppid()}): {' '.join(process.cmdline())[:120]}")
        except psutil.Error:
            continue
    return described


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def start_run(data_dir: Path, port: int | None = None, vectors_port: int | None = None,
              env: dict[str, str] | None = None, preexec_fn=None,
              log_name: str = "run.log") -> tuple[subprocess.Popen, str, Path]:
    """`mosaic run` in a process group of its own, so the tests can kill the whole group."""
    port = port or free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")},
        "MOSAIC_DATA_DIR": str(data_dir),
        "MOSAIC_PORT": str(port),
        "MOSAIC_VECTORS_PORT": str(vectors_port or free_port()),
        "MOSAIC_INGEST_SAMPLES": "false",
        "MOSAIC_DISPATCH_INTERVAL": "0.2",
        "MOSAIC_API_TOKEN": "",
        "MOSAIC_WEB_WORKERS": "2",
        **(env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / log_name
    with log.open("ab") as output:
        process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run"], env=full_env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn)
    return process, f"http://127.0.0.1:{port}", log


@contextmanager
def running(data_dir: Path, **options) -> Iterator[Run]:
    process, base, log = start_run(data_dir, **options)
    run = Run(process, data_dir, base, log)
    try:
        wait_healthy(run)
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for leftover in run_processes(data_dir):  # never leave a failed test's processes behind
            leftover.kill()


def wait_healthy(run: Run, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.process.poll() is not None:
            raise AssertionError(f"mosaic run exited with {run.process.returncode}:\n{run.output()}")
        try:
            if requests.get(f"{run.base}/gather/api/v1/health", timeout=2).status_code == 200:
                # The workers too: the tests kill them.
                if all(run.workers(verb) for verb in WORKER_VERBS):
                    return
        except (requests.ConnectionError, requests.Timeout):  # the port accepts before the web server serves
            pass
        time.sleep(0.2)
    raise AssertionError(f"mosaic run not healthy within {timeout}s:\n{run.output()}")


def stop_within(run: Run, seconds: float) -> float:
    started = time.monotonic()
    run.process.send_signal(signal.SIGTERM)
    try:
        run.process.wait(seconds)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"mosaic run still running {seconds}s after SIGTERM:\n{run.output()}") from None
    return time.monotonic() - started


# -- the whole platform -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory) -> Iterator[Run]:
    """One run for the tests that leave it as they found it."""
    with running(tmp_path_factory.mktemp("shared") / "data", env={"MOSAIC_WORKERS": "2"}) as run:
        yield run


def test_kill_9_of_the_run_leaves_no_process_and_the_next_run_works(tmp_path, photos_dir):
    data_dir = tmp_path / "data"
    port, vectors_port = free_port(), free_port()
    with running(data_dir, port=port, vectors_port=vectors_port) as run:
        everything = describe(run.processes())
        assert any("milvus" in line for line in everything) and any("serve" in line for line in everything), everything
        os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait()
        gone = wait_until(lambda: not run_processes(data_dir), timeout=5)
        assert gone, f"still running after kill -9 of the run: {describe(run_processes(data_dir))}"

    # The same folder and ports: nothing of the first run holds them.
    with running(data_dir, port=port, vectors_port=vectors_port, log_name="second.log") as run:
        photo = (photos_dir / "darknet" / "dog.jpg").read_bytes()
        response = requests.post(f"{run.base}/gather/uploads", files=[("files", ("dog.jpg", photo))], timeout=30)
        assert response.status_code == 201, response.text
        image_id = response.json()["files"][0]["id"]
        state = wait_until(lambda: requests.get(f"{run.base}/harvest/images/{image_id}", timeout=5)
                           .json()["state"] in ("indexed", "failed"), timeout=60, interval=0.2)
        record = requests.get(f"{run.base}/harvest/images/{image_id}", timeout=5).json()
        assert state and record["state"] == "indexed", record


def test_a_second_run_on_a_live_data_dir_refuses_with_the_holder_pid(shared_run, tmp_path):
    before = {p.pid for p in shared_run.processes()}
    process, _, log = start_run(shared_run.data_dir, log_name=f"second-{tmp_path.name}.log")
    try:
        code = process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"a second run on a live data dir did not refuse:\n{log.read_text()}") from None
    message = log.read_text()
    assert code != 0, message
    assert f"pid {shared_run.process.pid}" in message and str(shared_run.data_dir) in message, message
    assert {p.pid for p in shared_run.processes()} == before  # it started nothing and stopped nothing
    assert requests.get(f"{shared_run.base}/api/v1/health", timeout=5).status_code == 200


def test_workers_killed_together_are_back_together(shared_run):
    victims = shared_run.workers("harvest-worker") + shared_run.workers("processor")
    assert len(victims) == 3, describe(shared_run.processes())
    killed = time.monotonic()
    for victim in victims:
        victim.kill()
    old = {victim.pid for victim in victims}

    def replaced():
        fresh = [p for verb in ("harvest-worker", "processor") for p in shared_run.workers(verb) if p.pid not in old]
        return len(fresh) == 3

    assert wait_until(replaced, timeout=3.0), describe(shared_run.processes())
    assert time.monotonic() - killed < 3.0


def test_sigterm_just_after_a_worker_died_leaves_no_new_worker(tmp_path):
    data_dir = tmp_path / "data"
    with running(data_dir) as run:
        (victim,) = run.workers("harvest-worker")
        victim.kill()
        time.sleep(1.5)  # the runner has seen it die and is about to restart it
        stop_within(run, 10)
        time.sleep(2)  # a restart racing the stop would show by now
        assert run_processes(data_dir) == [], describe(run_processes(data_dir))


def test_a_run_that_ignores_sigint_stops_on_sigterm_within_5s(tmp_path):
    data_dir = tmp_path / "data"
    # As after `mosaic run &` from a script, and under some service managers: SIGINT ignored, inherited by every child.
    with running(data_dir, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) as run:
        took = stop_within(run, 5.0)
        gone = wait_until(lambda: not run_processes(data_dir), timeout=0.5)
        assert gone, f"still running after the run stopped: {describe(run_processes(data_dir))}"
        print(f"mosaic run stopped {took:.2f}s after SIGTERM")


# -- the supervisor alone -----------------------------------------------------------------------


def _starts(path: Path) -> list[float]:
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def _recording(path: Path, then: str = "") -> list[str]:
    """A child that appends its start time to `path`, then runs `then`."""
    return [sys.executable, "-c", f"import time; open({str(path)!r}, 'a').write(f'{{time.time()}}\\n'); {then}"]


def test_a_crash_looping_child_backs_off_and_a_stable_one_does_not(tmp_path):
    crashing, flaky = tmp_path / "crashing", tmp_path / "flaky"
    supervisor = Supervisor(
        [Child("crashing", _recording(crashing, "raise SystemExit(3)")),
         # Up longer than stable_after each time: every crash is its first.
         Child("flaky", _recording(flaky, "time.sleep(0.6); raise SystemExit(3)"))],
        dict(os.environ), restart_delay=0.2, max_delay=1.6, stable_after=0.5, poll_seconds=0.02,
    )
    supervisor.start()
    try:
        time.sleep(7.0)
    finally:
        supervisor.stop()
    # Delays of 0.2, 0.4, 0.8, 1.6, 1.6 ... s, each plus the child's own start-up (0.1-0.5 s, more on a loaded
    # machine): the later gaps are at least the longest delay, the first well under it; a fixed 0.2 s would
    # make 15 or more starts.
    gaps = [b - a for a, b in zip(_starts(crashing), _starts(crashing)[1:], strict=False)]
    assert 3 <= len(gaps) <= 8, gaps
    assert min(gaps[-2:]) >= 1.6 and gaps[0] < 1.2, gaps
    # Reset after each stable stretch: every gap is 0.6 s up + 0.2 s, none growing towards 0.6 + 1.6.
    flaky_gaps = [b - a for a, b in zip(_starts(flaky), _starts(flaky)[1:], strict=False)]
    assert len(flaky_gaps) >= 3 and max(flaky_gaps) < min(flaky_gaps) + 0.8, flaky_gaps


def test_stop_while_a_restart_is_pending_starts_nothing(tmp_path):
    record = tmp_path / "starts"
    supervisor = Supervisor([Child("crashing", _recording(record, "raise SystemExit(1)"))], dict(os.environ),
                            restart_delay=0.5, poll_seconds=0.02)
    supervisor.start()
    assert wait_until(lambda: supervisor.children[0].restart_at is not None, timeout=5)
    supervisor.stop()  # within the 0.5 s before the restart
    time.sleep(1.0)
    assert len(_starts(record)) == 1


def test_stop_ends_children_that_ignore_sigterm(tmp_path):
    ready = tmp_path / "ready"
    stubborn = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                      f"open({str(ready)!r}, 'w').close(); time.sleep(60)"]
    supervisor = Supervisor([Child("stubborn", stubborn)], dict(os.environ), stop_timeout=0.5)
    supervisor.start()
    process = supervisor.children[0].process
    assert wait_until(ready.exists, timeout=10)
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 2.0
    assert process.returncode == -signal.SIGKILL


def test_children_die_with_a_supervisor_killed_9(tmp_path):
    # The supervisor in a process of its own that is then SIGKILLed: nobody is left to stop the child.
    pid_file = tmp_path / "child.pid"
    sleeper = [sys.executable, "-c", f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
                                     "time.sleep(60)"]
    script = ("import os, time\n"
              "from gateway.runner import Child, Supervisor\n"
              f"Supervisor([Child('sleeper', {sleeper!r})], dict(os.environ)).start()\n"
              "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert wait_until(lambda: pid_file.exists() and pid_file.read_text(), timeout=10)
        child = psutil.Process(int(pid_file.read_text()))
    finally:
        parent.kill()
        parent.wait()
    assert wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, timeout=2), \
        "the child outlived its supervisor"
