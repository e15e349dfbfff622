"""Hosts on one machine: network namespaces joined by a bridge, each with its own address.

`Cluster` builds a database host (PostgreSQL and a redis-server of its own), an API host (the
API and the one scheduler) and worker hosts, each a namespace with a veth whose other end is a
port of a bridge in the root namespace. The root namespace has an address on the bridge too:
the test reaches every host from there, and the callback receiver listens there. `cut(host)`
takes a host's bridge port down (its link goes down: packets are lost, no connection is reset,
as when a machine drops off the network); `restore(host)` brings it back.

Everything is torn down by `close()`, processes first, even after a failure; `sweep()` removes
what a killed run left behind (the names are fixed).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests

from tests.support.services import pg_bin

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "cvl"  # namespace, veth and bridge names: cvl-db, cvl-db-h, cvlbr0
BRIDGE = f"{PREFIX}br0"
SUBNET = "10.217.0"
GATEWAY = f"{SUBNET}.254"  # the root namespace on the bridge
HOSTS = ("db", "api", "w1", "w2")


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    return done


def sweep() -> None:
    """Remove namespaces, processes and the bridge a previous run left behind."""
    listed = sh("ip", "netns", "list", check=False).stdout.split()
    for name in listed:
        if name.startswith(f"{PREFIX}-"):
            kill_namespace(name)
    for name in HOSTS:  # a veth outlives a namespace something still held open
        sh("ip", "link", "del", f"{PREFIX}-{name}-h", check=False)
    sh("ip", "link", "del", BRIDGE, check=False)


def kill_namespace(name: str) -> None:
    pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while sh("ip", "netns", "pids", name, check=False).stdout.split():
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    sh("ip", "netns", "del", name, check=False)


@dataclass
class Host:
    name: str
    address: str
    folder: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def port_name(self) -> str:
        return f"{PREFIX}-{self.name}-h"

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns]

    def run(self, *command: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        runuser = ["runuser", "-u", user, "--"] if user else []
        return sh(*self.exec_prefix(), *runuser, *command)

    def spawn(self, label: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{label}.log", "ab")  # noqa: SIM115 - the child keeps it
        # Its own hostname too (a UTS namespace), as a machine has: worker node names differ.
        named = ["unshare", "--uts", "sh", "-c", f'hostname {self.netns} && exec "$@"', "sh"]
        proc = subprocess.Popen(
            [*self.exec_prefix(), *named, *command],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.procs[label] = proc
        return proc

    def log(self, label: str) -> str:
        path = self.folder / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, label: str, timeout: float = 15) -> None:
        proc = self.procs.pop(label, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Cluster:
    """Four hosts on one bridge; PostgreSQL and Redis on `db`, started by `start_services`."""

    def __init__(self, hosts: tuple[str, ...] = HOSTS) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="civil-cluster-"))
        os.chmod(self.folder, 0o755)
        self.hosts = {
            name: Host(name, f"{SUBNET}.{i + 1}", self.folder / name)
            for i, name in enumerate(hosts)
        }
        self.pg_port, self.redis_port = 5432, 6379  # on the db host's own address
        self.cut_at: dict[str, float] = {}

    # -- network ---------------------------------------------------------------------------
    def build(self) -> Cluster:
        sweep()
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        for host in self.hosts.values():
            host.folder.mkdir(parents=True)
            sh("ip", "netns", "add", host.netns)
            sh("ip", "link", "add", host.port_name, "type", "veth",
               "peer", "name", "eth0", "netns", host.netns)  # fmt: skip
            sh("ip", "link", "set", host.port_name, "master", BRIDGE)
            sh("ip", "link", "set", host.port_name, "up")
            host.run("ip", "addr", "add", f"{host.address}/24", "dev", "eth0")
            host.run("ip", "link", "set", "eth0", "up")
            host.run("ip", "link", "set", "lo", "up")
        return self

    def cut(self, name: str) -> None:
        """The host drops off the network: its bridge port goes down, nothing is reset."""
        sh("ip", "link", "set", self.hosts[name].port_name, "down")
        self.cut_at[name] = time.monotonic()

    def restore(self, name: str) -> None:
        sh("ip", "link", "set", self.hosts[name].port_name, "up")

    # -- services on the db host -----------------------------------------------------------
    @property
    def db(self) -> Host:
        return self.hosts["db"]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{self.db.address}:{self.pg_port}/postgres"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.db.address}:{self.redis_port}/0"

    def start_services(self) -> None:
        data = self.db.folder / "pg"
        shutil.chown(self.db.folder, "postgres", "postgres")
        self.db.run(pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-N",
                    user="postgres")  # fmt: skip
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        # A host that vanishes mid-transaction holds its row locks until the server drops it:
        # keepalives find a silent peer within ~11 s, and an idle transaction ends after 10 s.
        options = " ".join(
            [
                f"-p {self.pg_port} -k {self.db.folder}",
                f"-c listen_addresses={self.db.address}",
                "-c fsync=off -c max_connections=200",
                "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3",
                "-c idle_in_transaction_session_timeout=10s -c tcp_user_timeout=5000",
            ]
        )
        log = str(self.db.folder / "pg.log")
        self.db.run(pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start",
                    user="postgres")  # fmt: skip
        self.db.spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                self.db.address,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.db.folder),
                "--tcp-keepalive",
                "5",
                "--protected-mode",
                "no",
            ],
            env=dict(os.environ),
        )
        wait_until(lambda: redis.Redis.from_url(self.redis_url, socket_timeout=1).ping(), 15)
        psycopg.connect(self.admin_url, connect_timeout=5).close()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    # -- Civil's processes -----------------------------------------------------------------
    def env(self, host: Host, settings: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIL_")}
        env.update(settings)
        env["CIVIL_DATA_DIR"] = str(host.folder / "var")  # every host has its own disk
        env["PROMETHEUS_MULTIPROC_DIR"] = str(host.folder / "metrics")
        env["PYTHONPATH"] = str(ROOT)
        env["HF_HUB_OFFLINE"] = "1"
        (host.folder / "metrics").mkdir(exist_ok=True)
        return env

    def civil(self, host: str, label: str, args: list[str], settings: dict[str, str]) -> None:
        target = self.hosts[host]
        civil = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "civil")
        if not Path(civil).exists():
            civil = shutil.which("civil") or civil
        target.spawn(label, [civil, *args], self.env(target, settings))

    def api_url(self, port: int = 8000) -> str:
        return f"http://{self.hosts['api'].address}:{port}"

    def wait_api(self, timeout: float = 60) -> None:
        def up() -> bool:
            return requests.get(self.api_url() + "/healthz", timeout=2).status_code == 200

        wait_until(up, timeout, lambda: self.hosts["api"].log("api")[-3000:])

    def logs(self) -> str:
        out = []
        for host in self.hosts.values():
            for path in sorted(host.folder.glob("*.log")):
                out.append(
                    f"--- {host.name}/{path.name}\n{path.read_text(errors='replace')[-2500:]}"
                )
        return "\n".join(out)

    def close(self) -> None:
        for host in self.hosts.values():
            for label in list(host.procs):
                host.stop(label, timeout=5)
        # PostgreSQL and Redis die with their namespace: the cluster is thrown away.
        for host in self.hosts.values():
            kill_namespace(host.netns)
        sweep()
        shutil.rmtree(self.folder, ignore_errors=True)


def decided_by(host: Host, label: str) -> set[int]:
    """Comment ids a worker's JSON log says it decided."""
    ids = set()
    for line in host.log(label).splitlines():
        try:
            record: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        if str(record.get("message", "")).startswith("decided") and "comment_id" in record:
            ids.add(int(record["comment_id"]))
    return ids


def wait_until(check: Any, timeout: float, describe: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s" + (f"\n{describe()}" if describe else "")
            )
        time.sleep(0.2)
