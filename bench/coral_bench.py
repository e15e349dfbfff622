"""How soon the Coral phase answers 204 when Civil has not decided within Coral's timeout.

Coral waits at most its phase timeout for an answer; Civil must answer before it. With no worker
running nothing gets decided, so every request waits out Civil's share of the timeout and
answers 204. Prints the median and max time to that answer per timeout (SQLite, in process).

    .venv/bin/python bench/coral_bench.py [-n 10]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from civil import admin
from civil.db import Database
from civil.migrate import upgrade
from civil.sites import create_site
from service import create_app
from tests.conftest import make_settings
from tests.support.coral import (
    Phase,
    SigningSecret,
    fetch_options,
    moderation_request,
    new_signing_secret,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="requests per timeout")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    settings = make_settings(Path(tempfile.mkdtemp()) / "var")
    upgrade(settings)
    db = Database(settings)
    client = create_app(settings).test_client()
    with db.session() as session:
        site = create_site(session, name="coral-bench", callback_url=None).site_id
    for timeout_ms in (200, 500, 1000):
        secret = new_signing_secret()
        with db.session() as session:
            admin.set_coral_secret(session, "bench", site, secret, 0, timeout_ms=timeout_ms)
        phase = Phase(f"/v1/sites/{site}/coral", [SigningSecret(secret)])
        times = []
        for i in range(args.n):
            request = moderation_request(body_html=f"<p>comment {timeout_ms} {i}</p>")
            body, headers = fetch_options(phase.signing_secrets, request)
            started = time.monotonic()
            answer = client.post(phase.url, data=body, headers=headers)
            times.append(time.monotonic() - started)
            assert answer.status_code == 204, answer.status_code
        print(
            f"phase timeout {timeout_ms} ms: 204 after median "
            f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
