"""`civil run` as a real process for the integration tests: a temp data dir, a clean env."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import requests

CIVIL = str(Path(sys.executable).with_name("civil"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def civil(env, *args) -> dict:
    out = subprocess.run(
        [CIVIL, *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)


def wait_http(url: str, status: int, timeout: float = 90.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=10)
            if last.status_code == status:
                return last
        except requests.RequestException:  # not listening yet, or busy starting up
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered {status}: {last and last.text}")


class CivilRun:
    """`civil run --port N` on a temporary data dir, stopped with SIGTERM on leaving the block.

    The environment carries none of the caller's CIVIL_ settings: only the data dir, a 1 s
    delivery poll and ``settings``. ``code`` is its exit status once stopped.
    """

    def __init__(self, tmp_path: Path, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "run.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIL_")}
        env.update(
            {
                "CIVIL_DATA_DIR": str(tmp_path / "var"),
                "CIVIL_DELIVERY_POLL_SECONDS": "1",
                **settings,
            }
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.env = env
        self.code: int | None = None

    def __enter__(self) -> CivilRun:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [CIVIL, "run", "--port", str(self.port)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.code = self.proc.wait(timeout=45)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text()
