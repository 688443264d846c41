"""mosaic.web's shared request handling: CPU-bound views take turns, cheap views never wait for them."""

from __future__ import annotations

import threading
import time

from flask import Flask

from mosaic.contract import CPU_BOUND_SLOTS, endpoint
from mosaic.web import install_common


def test_cpu_bound_views_take_turns_and_cheap_views_pass_them():
    app = Flask("t")
    install_common(app)
    running, most = [0], [0]
    lock, release = threading.Lock(), threading.Event()

    @app.get("/search")
    @endpoint("A search.", cpu_bound=True)
    def search():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1
        return "searched"

    @app.get("/bytes")
    @endpoint("Bytes.")
    def cheap():
        return "bytes"

    client = app.test_client()
    answers: list[int] = []
    searches = [threading.Thread(target=lambda: answers.append(client.get("/search").status_code))
                for _ in range(4)]
    for thread in searches:
        thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert client.get("/bytes").status_code == 200  # answered while every search holds or waits for a slot
    assert time.monotonic() - started < 1
    release.set()
    for thread in searches:
        thread.join(10)
    assert answers == [200] * 4
    assert most[0] == CPU_BOUND_SLOTS
