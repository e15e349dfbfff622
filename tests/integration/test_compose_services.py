"""Every docker compose service's real command, started here as compose would start it.

No Docker engine: the commands and environments come from docker-compose.yml, with the compose
hostnames (postgres, redis) replaced by this machine's loopback services (a temp database, a
flushed Redis db), published ports by free ones, and the cascade model by the tiny checkpoint.
Each service must stay up and pass its own healthcheck command.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LONG_RUNNING = ("api", "worker", "beat", "flower")


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with nothing set: the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def compose_services() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def localize(argv: list[str], ports: dict[str, str]) -> list[str]:
    """Run the image's executables from this venv; move published ports to free ones."""
    out = []
    for arg in argv:
        for old, new in ports.items():
            arg = arg.replace(f":{old}", f":{new}").replace(f"={old}", f"={new}")
            arg = new if arg == old else arg
        out.append(arg)
    if out[0] in {"civil", "celery", "python"}:
        out[0] = sys.executable if out[0] == "python" else str(BIN / out[0])
    return out


def healthcheck_argv(test: list[str], ports: dict[str, str]) -> list[str]:
    if test[0] == "CMD-SHELL":
        # $$ is compose's escape for a literal $ (the container's shell expands it).
        shell = test[1].replace("$$", "$")
        return ["sh", "-c", shlex.join(localize(shlex.split(shell), ports)).replace("'", "")]
    return localize(test[1:], ports)


def service_env(
    name: str, spec: dict[str, Any], tmp: Path, pg_url: str, redis_url: str, model: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIVIL_", "PROMETHEUS_"))}
    env.update({k: interpolate(v) for k, v in spec["environment"].items()})
    assert env["CIVIL_DATABASE_URL"].startswith("postgresql://civil:civil@postgres:5432/")
    assert env["CIVIL_BROKER_URL"].startswith("redis://redis:6379/")
    env["CIVIL_DATABASE_URL"] = pg_url
    env["CIVIL_BROKER_URL"] = redis_url
    env["CIVIL_DATA_DIR"] = str(tmp / "civildata")
    env["CIVIL_MODEL_DIR"] = str(ROOT / "models")
    env["CIVIL_TOXICITY_MODEL"] = str(model)
    # As compose sets it, under this service's own "container /tmp": nothing creates it first,
    # and no other service's process creates it for this one.
    container_root = tmp / "containers" / name
    env["PROMETHEUS_MULTIPROC_DIR"] = str(container_root / env["PROMETHEUS_MULTIPROC_DIR"][1:])
    env["CIVIL_WORKER_HEARTBEAT_SECONDS"] = "2"
    env["HOSTNAME"] = socket.gethostname()  # what a container's shell has
    env["PYTHONPATH"] = str(ROOT)
    return env


def wait_healthy(name: str, argv: list[str], env: dict[str, str], proc: Any, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, (
            f"{name} exited with {proc.returncode}: {log.read_text()[-3000:]}"
        )
        check = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        if check.returncode == 0:
            return
        assert time.monotonic() < deadline, (
            f"{name} never healthy: {check.stdout[-500:]} {check.stderr[-1500:]}\n"
            f"{log.read_text()[-3000:]}"
        )
        time.sleep(2)


def test_every_compose_service_starts_stays_up_and_passes_its_healthcheck(
    tmp_path, pg_url, redis_url, tiny_checkpoint
):
    services = compose_services()
    ports = {"8000": str(free_port()), "5555": str(free_port()), "9808": str(free_port())}
    envs = {
        name: service_env(name, services[name], tmp_path, pg_url, redis_url, tiny_checkpoint)
        for name in ("migrate", *LONG_RUNNING)
    }
    envs["flower"]["FLOWER_BASIC_AUTH"] = "ops:s3cret"  # what the operator's .env provides
    migrate = subprocess.run(
        localize(services["migrate"]["command"], ports),
        env=envs["migrate"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in LONG_RUNNING:
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps it
            procs[name] = subprocess.Popen(
                localize(services[name]["command"], ports),
                env=envs[name],
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
        for name in LONG_RUNNING:
            argv = healthcheck_argv(services[name]["healthcheck"]["test"], ports)
            wait_healthy(name, argv, envs[name], procs[name], tmp_path / f"{name}.log")
        flower = f"http://127.0.0.1:{ports['5555']}/"
        assert requests.get(flower, timeout=10).status_code == 401
        assert requests.get(flower, auth=("ops", "s3cret"), timeout=10).status_code == 200
        readyz = f"http://127.0.0.1:{ports['8000']}/readyz"
        deadline = time.monotonic() + 30
        while (r := requests.get(readyz, timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, r.text
            time.sleep(1)
        assert r.json()["checks"]["scheduler"]["ok"], r.text
        time.sleep(3)
        for name, proc in procs.items():
            assert proc.poll() is None, (name, (tmp_path / f"{name}.log").read_text()[-3000:])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_flower_refuses_to_start_without_basic_auth(tmp_path, pg_url, redis_url, tiny_checkpoint):
    spec = compose_services()["flower"]
    env = service_env("flower", spec, tmp_path, pg_url, redis_url, tiny_checkpoint)
    assert env["FLOWER_BASIC_AUTH"] == ""  # compose passes it through, empty when unset
    run = subprocess.run(
        localize(spec["command"], {"5555": str(free_port())}),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "FLOWER_BASIC_AUTH" in run.stderr
