from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest

from event_store_server import EventStoreServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EventStoreServer]:
    running = EventStoreServer(tmp_path / "data").start()
    yield running
    running.stop()


@pytest.fixture
def tenant() -> str:
    return f"py-{uuid.uuid4().hex[:12]}"
