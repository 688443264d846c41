"""Session fixtures for the integration tier: each real server starts once, on first use."""

from __future__ import annotations

import pytest

from tests.servers import RunningServer


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> RunningServer:
    from tests.servers import s3

    server = s3.start(tmp_path_factory.mktemp("s3"))
    try:
        yield server
    finally:
        server.stop()
