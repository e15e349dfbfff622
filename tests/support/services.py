"""Throw-away redis-server and PostgreSQL clusters in a temp directory, on their own ports.

The chaos tests kill and restart these; the machine's own services are never touched.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A redis-server with no persistence: a restart comes back empty."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra = list(extra)  # more redis-server arguments (--replicaof …)

    def start(self) -> OwnRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder), *self.extra]
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(command, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return self
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or name]
    return found[-1]


class OwnPostgres:
    """A PostgreSQL cluster created with initdb, run by the postgres user when we are root."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def init(self) -> OwnPostgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")
        return self

    def start(self) -> OwnPostgres:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "pg.log")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        psycopg.connect(self.url, connect_timeout=5).close()
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_seconds: float) -> None:
        self.stop("immediate")
        time.sleep(down_seconds)
        self.start()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + "/" + name


class OwnSentinel:
    """A Redis master, one replica and three Sentinels watching it (quorum 2), all our own."""

    MASTER = "civil"

    def __init__(self, folder: Path) -> None:
        self.master = OwnRedis(folder / "master")
        self.replica = OwnRedis(folder / "replica")
        self.folder = folder
        self.ports = [free_port() for _ in range(3)]
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """The broker URL, as kombu takes it: every sentinel, `;`-separated."""
        return ";".join(f"sentinel://127.0.0.1:{port}/0" for port in self.ports)

    def start(self) -> OwnSentinel:
        self.master.start()
        self.replica.extra = ["--replicaof", "127.0.0.1", str(self.master.port)]
        self.replica.start()
        for i, port in enumerate(self.ports):
            home = self.folder / f"sentinel{i}"
            home.mkdir(parents=True, exist_ok=True)
            conf = home / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {home}\n"
                f"sentinel monitor {self.MASTER} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.MASTER} 1000\n"
                f"sentinel failover-timeout {self.MASTER} 5000\n"
            )
            log = open(home / "sentinel.log", "ab")  # noqa: SIM115 - the child keeps it
            self.procs.append(
                subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=log, stderr=log)
            )
            log.close()
        deadline = time.monotonic() + 20
        while self.master_port() != self.master.port or not self._replica_synced():
            if time.monotonic() > deadline:
                raise AssertionError("sentinels never saw the master and its replica")
            time.sleep(0.1)
        return self

    def _replica_synced(self) -> bool:
        info = redis.Redis(port=self.replica.port, socket_timeout=1).info("replication")
        return info.get("master_link_status") == "up"

    def master_port(self) -> int | None:
        for port in self.ports:
            try:
                addr = redis.Redis(port=port, socket_timeout=1).sentinel_get_master_addr_by_name(
                    self.MASTER
                )
                return int(addr[1]) if addr else None
            except redis.RedisError:
                continue
        return None

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.master.kill()
        self.replica.kill()
