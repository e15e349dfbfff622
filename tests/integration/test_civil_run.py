"""`civil run` as a user starts it: SQLite + the embedded broker, gunicorn, worker, beat."""

from __future__ import annotations

import os
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import requests

from tests.factories import comment_body
from tests.support.civil_run import CivilRun, civil, wait_http
from tests.support.receiver import Receiver


def test_civil_run_embedded_end_to_end(tmp_path, tiny_checkpoint):
    run = CivilRun(
        tmp_path, CIVIL_TOXICITY_MODEL=str(tiny_checkpoint), CIVIL_ALLOW_PRIVATE_CALLBACKS="1"
    )
    env, base = run.env, run.base
    receiver = Receiver().start()
    with ExitStack() as stack:
        stack.callback(receiver.stop)
        stack.enter_context(run)
        wait_http(base + "/healthz", 200)
        ready = wait_http(base + "/readyz", 200).json()
        assert ready["checks"]["workers"]["live"] == 1
        site = civil(
            env, "sites", "create", "--name", "Daily Planet", "--callback-url", receiver.url
        )
        assert set(site) == {"site_id", "api_key", "signing_secret"}
        assert site["signing_secret"].startswith("whsec_")
        receiver.secret = site["signing_secret"]
        body = comment_body()
        r = requests.post(
            f"{base}/v1/sites/{site['site_id']}/comments?wait=10",
            json=body,
            headers={"Authorization": f"Bearer {site['api_key']}"},
            timeout=15,
        )
        assert r.status_code == 200, r.text
        assert r.headers["Server"].startswith("gunicorn")
        decision = r.json()["decision"]
        [got] = receiver.wait_for(lambda rs: len(rs) == 1)
        assert got.verified and got.body["data"]["decision"] == decision
        # Counters incremented in worker processes show up in the API's /metrics.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            metrics = requests.get(base + "/metrics", timeout=5).text
            if "civil_deliveries_total" in metrics:
                break
            time.sleep(0.5)
        assert f'civil_decisions_total{{action="{decision["action"]}"}} 1.0' in metrics
        assert 'civil_intake_total{outcome="created"} 1.0' in metrics
        status = civil(env, "status")
        assert len(status["workers"]) == 1 and status["dead_letters"] == 0
        assert status["comments"] == {r.json()["status"]: 1}
        deliveries = civil(env, "deliveries", "list")
        assert [d["status"] for d in deliveries] == ["delivered"]
        assert deliveries[0]["id"] == got.webhook_id
        replay = civil(env, "deliveries", "replay", got.webhook_id)
        assert replay == {"replayed": [got.webhook_id]}
        receiver.wait_for(lambda rs: len(rs) == 2)
        assert {x.webhook_id for x in receiver.received} == {got.webhook_id}
    assert run.code == 0, run.log()[-4000:]


def child_pids(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def nice_of(pid: int) -> int:
    # Field 19 of /proc/PID/stat (after the parenthesised command name, field 17 of the rest).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def test_civil_run_restarts_a_dead_worker_and_the_api_stays_up(tmp_path, tiny_checkpoint):
    run = CivilRun(
        tmp_path, CIVIL_TOXICITY_MODEL=str(tiny_checkpoint), CIVIL_ALLOW_PRIVATE_CALLBACKS="1"
    )
    env, base, log_path = run.env, run.base, run.log_path
    with run:
        proc = run.proc
        wait_http(base + "/readyz", 200)
        # The banner's line "processes  api 1, worker 2, beat 3".
        line = next(x for x in log_path.read_text().splitlines() if "processes" in x)
        pids = dict(kv.split() for kv in line.split("processes", 1)[1].strip().split(", "))
        worker = int(pids["worker"])
        # The worker and scheduler run nicer than the API (CIVIL_WORKER_NICE, default 5).
        assert nice_of(worker) - nice_of(int(pids["api"])) == 5
        assert nice_of(int(pids["beat"])) == nice_of(worker)
        assert all(nice_of(pool) == nice_of(worker) for pool in child_pids(worker))
        # The worker's main process dies hard (as on a crash in its consumer); its pool with it.
        for pid in [worker, *child_pids(worker)]:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while "worker restarted" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()[-4000:]
            # Intake never goes down with the worker.
            assert requests.get(base + "/healthz", timeout=5).status_code == 200
            assert time.monotonic() < deadline, log_path.read_text()[-4000:]
            time.sleep(0.2)
        assert f"worker (pid {worker}) exited with -9; restarting in 1s" in log_path.read_text()
        site = civil(env, "sites", "create", "--name", "Planet")
        auth = {"Authorization": f"Bearer {site['api_key']}"}
        body = comment_body()
        r = requests.post(
            f"{base}/v1/sites/{site['site_id']}/comments", json=body, headers=auth, timeout=15
        )
        assert r.status_code == 202, r.text
        # Decided by the restarted worker, served by the API process that never stopped.
        deadline = time.monotonic() + 60
        view = r.json()
        while view["status"] == "pending" and time.monotonic() < deadline:
            time.sleep(0.3)
            view = requests.get(
                f"{base}/v1/sites/{site['site_id']}/comments/{body['id']}", headers=auth, timeout=5
            ).json()
        assert view["status"] in {"approved", "held", "rejected"}, view
        assert child_pids(proc.pid)[0] == int(pids["api"])
    assert run.code == 0, run.log()[-4000:]
