"""The whole pipeline through a real PgBouncer in transaction mode (our own, on its own port).

Every process (this test's API and database handle, the worker and its pool, the scheduler, the
migration) connects to PgBouncer, which hands each transaction whichever of its few server
connections is free. Civil must keep no state on a connection for that to work: no prepared
statements (CIVIL_DATABASE_PGBOUNCER=1 turns psycopg's off), no SET, no LISTEN.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.chaos import post_all, wait_settled
from tests.support.services import free_port

SERVER_POOL = 3  # server connections per database and user


class OwnPgBouncer:
    def __init__(self, folder: Path, upstream: str) -> None:
        self.folder, self.port = folder, free_port()
        self.upstream = urlsplit(upstream)
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> OwnPgBouncer:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.path.exists(binary):
            pytest.fail("pgbouncer is not installed (apt-get install pgbouncer)")
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={self.upstream.hostname} port={self.upstream.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {SERVER_POOL}\nmax_client_conn = 500\n"
            "admin_users = postgres\n"
            # psycopg and libpq may send these at start-up; the pooler must not refuse them.
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        shutil.chown(self.folder, "postgres")
        for path in self.folder.iterdir():
            shutil.chown(path, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        log = open(self.folder / "pgbouncer.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen([*prefix, binary, str(ini)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while self.admin("SHOW VERSION") is None:
            assert time.monotonic() < deadline, (self.folder / "pgbouncer.log").read_text()
            time.sleep(0.1)
        return self

    def admin(self, command: str) -> list[list[str]] | None:
        """A console command's rows (psql speaks the simple protocol the console wants)."""
        done = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "pgbouncer",
                "-AtF",
                "|",
                "-c",
                command,
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            return None
        return [line.split("|") for line in done.stdout.splitlines() if line]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def bouncer(pg_url: str) -> Iterator[OwnPgBouncer]:
    folder = Path(tempfile.mkdtemp(prefix="civil-pgbouncer-"))
    server = OwnPgBouncer(folder, pg_url)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_pipeline_through_pgbouncer_transaction_mode(
    make_stack, pg_url, redis_url, bouncer, receiver
):
    database = urlsplit(pg_url).path.strip("/")
    stack = make_stack(
        database_url=bouncer.url(database),
        database_pgbouncer=True,
        broker_url=redis_url,
        database_pool_size=2,
        database_max_overflow=2,
    )
    stack.start_worker(concurrency=2)
    stack.start_beat()
    site = stack.site(receiver)
    ids = post_all(stack, site, 15)
    # ?wait= polls the row (no LISTEN): it works on pooled connections too.
    from tests.factories import comment_body

    waited = stack.post(site, comment_body(), wait=10)
    assert waited.status_code == 200 and waited.json["status"] != "pending", waited.json
    wait_settled(stack, receiver, ids, timeout=90)

    stats = {row[0]: row for row in bouncer.admin("SHOW STATS") or []}
    assert int(stats[database][1]) >= 15, stats[database]  # transactions through the pooler
    clients = [row for row in bouncer.admin("SHOW CLIENTS") or [] if row[2] == database]
    servers = [row for row in bouncer.admin("SHOW SERVERS") or [] if row[2] == database]
    # Many client connections (test, API, worker processes, scheduler) on at most the pool.
    assert 0 < len(servers) <= SERVER_POOL < len(clients), (len(servers), len(clients))
    log = (Path(bouncer.folder) / "pgbouncer.log").read_text()
    assert "prepared statement" not in log
    assert "prepared statement" not in stack.logs()
