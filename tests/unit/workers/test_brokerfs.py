"""The embedded broker's transport: an empty message a full disk left behind is not fatal.

The full disk itself is a chaos scenario (tests/chaos/test_full_disk.py, a real tmpfs).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from kombu import Connection

from civil.settings import Settings


def connect(tmp_path: Path) -> tuple[Connection, Path]:
    settings = Settings.from_env({}, data_dir=tmp_path / "var")
    options = settings.broker_transport_options()
    conn = Connection(
        settings.broker_url, transport="workers.brokerfs:Transport", transport_options=options
    )
    return conn, Path(options["data_folder_in"])


def test_an_unreadable_message_is_skipped_not_fatal(tmp_path):
    conn, folder = connect(tmp_path)
    with conn:
        # A fresh queue name: kombu keeps declared exchanges in class-level state across
        # connections, and an earlier test's "scoring" would not be bound in this folder.
        name = f"scoring-{uuid.uuid4().hex}"
        queue = conn.SimpleQueue(name)
        # What kombu's own writer leaves behind when the disk fills mid-write.
        (folder / f"1_{uuid.uuid4()}.{name}.msg").write_bytes(b"")
        queue.put({"comment_id": 7})
        assert queue.get(timeout=15).payload == {"comment_id": 7}
        queue.close()
