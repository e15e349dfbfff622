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
