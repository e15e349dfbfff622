"""Small server-rendered charts for the ops view: geometry here, SVG in ops.html (no script)."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, PAD_TOP, PAD_BOTTOM = 360, 96, 14, 16


def _fmt(value: float, unit: str) -> str:
    if unit == "s" and value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value:.2f} {unit}" if value < 10 else f"{value:.0f} {unit}"


def chart(
    key: str, title: str, values: list[float | None], unit: str, *, kind: str, bucket_minutes: int
) -> dict[str, Any]:
    """Bars (kind="bars") or a line with dots (kind="line") over the last hour, oldest first."""
    known = [v for v in values if v is not None]
    top = max(known, default=0.0) or 1.0
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = WIDTH / max(len(values), 1)
    ago = len(values) * bucket_minutes

    def y(value: float) -> float:
        return round(PAD_TOP + plot_h * (1 - value / top), 1)

    marks = []
    for i, value in enumerate(values):
        minutes = ago - i * bucket_minutes
        when = f"{minutes} to {minutes - bucket_minutes} min ago"
        text = f"{when}: " + (_fmt(value, unit) if value is not None else "no data")
        x = round(i * step, 1)
        marks.append(
            {
                "x": x,
                "cx": round(x + step / 2, 1),
                "w": round(step - 3, 1),
                "y": y(value) if value is not None else None,
                "h": round(HEIGHT - PAD_BOTTOM - y(value), 1) if value is not None else 0,
                "title": text,
            }
        )
    points = " ".join(f"{m['cx']},{m['y']}" for m in marks if m["y"] is not None)
    latest = next((v for v in reversed(values) if v is not None), None)
    summary = f"{title}, last hour in {bucket_minutes}-minute steps: " + (
        f"peak {_fmt(max(known), unit)}, latest {_fmt(latest, unit)}" if known else "no data"
    )
    return {
        "key": key,
        "title": title,
        "kind": kind,
        "width": WIDTH,
        "height": HEIGHT,
        "base_y": HEIGHT - PAD_BOTTOM,
        "marks": marks,
        "points": points,
        "top_label": _fmt(top if known else 0.0, unit),
        "latest": _fmt(latest, unit) if latest is not None else "—",
        "ago": ago,
        "summary": summary,
    }


def ops_charts(series: dict[str, Any]) -> list[dict[str, Any]]:
    minutes = int(series["bucket_minutes"])
    return [
        chart(
            "throughput",
            "Throughput",
            series["throughput"],
            "/min",
            kind="bars",
            bucket_minutes=minutes,
        ),
        chart(
            "latency",
            "Decision latency (median)",
            series["latency_s"],
            "s",
            kind="line",
            bucket_minutes=minutes,
        ),
        chart(
            "queue-age",
            "Queue age (oldest undecided)",
            series["queue_age_s"],
            "s",
            kind="line",
            bucket_minutes=minutes,
        ),
    ]


CAL_WIDTH, CAL_HEIGHT, CAL_PAD = 420, 160, 18


def calibration_chart(label: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Precision (line, 0..1) and volume (bars, share of the most flagged) against threshold.

    Today's hold and reject thresholds and the proposed ones are vertical marks.
    """
    points = entry.get("curve") or []
    plot_h = CAL_HEIGHT - 2 * CAL_PAD
    most = max((p["flagged"] for p in points), default=0) or 1

    def x(threshold: float) -> float:
        return round(threshold * CAL_WIDTH, 1)

    def y(share: float) -> float:
        return round(CAL_PAD + plot_h * (1 - share), 1)

    step = CAL_WIDTH / 100
    bars = [
        {
            "x": round(x(p["threshold"]) - step / 2, 1),
            "y": y(p["flagged"] / most),
            "w": round(step * 0.8, 1),
            "h": round(plot_h * p["flagged"] / most, 1),
            "title": f"at {p['threshold']:.2f}: {p['flagged']} flagged, precision "
            + (f"{p['precision']:.0%}" if p["precision"] is not None else "—"),
        }
        for p in points
    ]
    line = " ".join(
        f"{x(p['threshold'])},{y(p['precision'])}" for p in points if p["precision"] is not None
    )
    marks = [
        {"key": key, "x": x(value), "label": f"{name} {value:.2f}"}
        for key, name, value in (
            ("hold", "hold today", entry.get("hold_threshold")),
            ("reject", "reject today", entry.get("reject_threshold")),
            ("proposed-hold", "proposed hold", entry.get("proposed_hold_threshold")),
            ("proposed-reject", "proposed reject", entry.get("proposed_reject_threshold")),
        )
        if value is not None
    ]
    summary = f"{label}: precision and volume against threshold; " + ", ".join(
        m["label"] for m in marks
    )
    return {
        "label": label,
        "width": CAL_WIDTH,
        "height": CAL_HEIGHT,
        "top": CAL_PAD,
        "base_y": CAL_HEIGHT - CAL_PAD,
        "bars": bars,
        "line": line,
        "marks": marks,
        "most": most,
        "summary": summary,
    }
