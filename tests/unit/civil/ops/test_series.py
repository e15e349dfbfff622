"""The ops view's last-hour series and their SVG charts, from real rows in a real database."""

from __future__ import annotations

import re
from datetime import timedelta

from civil.models import Comment, utcnow
from civil.ops.series import BUCKETS, last_hour_series
from service.moderate.charts import ops_charts


def add(db, site, n, received, decided=None, by="auto"):
    with db.session() as session:
        session.add(
            Comment(
                site_id=site.site_id,
                external_id=f"c-{n}",
                content="text",
                content_hash=f"{n:064d}",
                received_at=received,
                decided_at=decided,
                status="approved" if decided else "pending",
                decision={"action": "approve", "decided_by": by} if decided else None,
            )
        )


def test_throughput_latency_and_queue_age_per_five_minutes(db, site):
    now = utcnow()
    # Three decisions 2 minutes ago (1 s, 2 s and 3 s after receipt), one 27 min ago by a
    # moderator (not a machine latency), one comment pending for 20 minutes.
    for n, lag in enumerate((1, 2, 3)):
        decided = now - timedelta(minutes=2)
        add(db, site, n, decided - timedelta(seconds=lag), decided)
    add(db, site, 3, now - timedelta(minutes=40), now - timedelta(minutes=27), by="moderator")
    add(db, site, 4, now - timedelta(minutes=20))
    series = last_hour_series(db, now)
    assert len(series["throughput"]) == BUCKETS == 12
    assert series["throughput"][-1] == 0.6  # 3 decisions in 5 minutes
    assert series["throughput"][6] == 0.2  # 25-30 minutes ago: the moderator's
    assert series["latency_s"][-1] == 2.0
    assert series["latency_s"][6] is None  # moderators' decisions are no machine latency
    # The pending comment ages from 20 min to now; before it arrived the oldest waiting one
    # was the comment the moderator decided 27 min ago.
    assert abs(series["queue_age_s"][-1] - 1200) < 1
    assert abs(series["queue_age_s"][5] - (40 - 30) * 60) < 1
    assert series["queue_age_s"][7] == 0.0  # 20 to 25 minutes ago nobody was waiting

    charts = {c["key"]: c for c in ops_charts(series)}
    bars = [m for m in charts["throughput"]["marks"] if m["h"] > 0]
    assert len(bars) == 2 and bars[-1]["h"] > bars[0]["h"]
    assert "peak 0.60 /min" in charts["throughput"]["summary"]
    assert len(re.findall(r"\d+(\.\d+)?,\d+(\.\d+)?", charts["latency"]["points"])) == 1
    assert charts["queue-age"]["latest"] == "20.0 min"


def test_an_empty_hour_draws_flat_charts(db):
    charts = ops_charts(last_hour_series(db))
    assert all("no data" in c["summary"] or "peak 0" in c["summary"] for c in charts)
    assert charts[1]["points"] == ""
