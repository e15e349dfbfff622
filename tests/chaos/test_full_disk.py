"""The embedded broker's folder on a full filesystem: comments wait, then all get decided."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.chaos import post_all, wait_decided, wait_settled


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB tmpfs where the embedded broker keeps its messages (needs root to mount)."""
    folder = tmp_path / "var" / "broker"
    folder.mkdir(parents=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True
    )
    if mount.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs (root needed): {mount.stderr.decode()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_embedded_broker_on_a_full_disk(make_stack, small_disk, receiver):
    stack = make_stack()  # SQLite and the embedded broker under tmp/var
    assert stack.settings.embedded_broker
    stack.start_worker(concurrency=1)
    stack.start_beat()
    site = stack.site(receiver)
    ids = post_all(stack, site, 4)
    wait_decided(stack, ids)
    filler = fill(small_disk)
    # Intake stores the comment (the database is elsewhere) and answers 202 though it cannot
    # queue it; the sweeper queues it once there is room again.
    stranded = post_all(stack, site, 6)
    filler.unlink()
    wait_settled(stack, receiver, ids + stranded, timeout=120)
