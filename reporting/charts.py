"""Geometry for the server-drawn SVG line charts (no JavaScript library): values in, points out."""

from decimal import Decimal

WIDTH, HEIGHT, LEFT, BOTTOM = 640, 200, 8, 24


def line_chart(*, labels: list[str], series: list[tuple[str, list[Decimal | None], str]]) -> dict | None:
    """series: (name, values, css colour). Returns what reporting/_line_chart.html draws, or None
    when there are fewer than two points (a line needs two)."""
    if len(labels) < 2:
        return None
    values = [v for _, points, _ in series for v in points if v is not None]
    top = max(values, default=0) or 1
    step = (WIDTH - LEFT * 2) / (len(labels) - 1)
    plot = HEIGHT - BOTTOM - 8
    lines = []
    for name, points, colour in series:
        coords = [
            f"{LEFT + i * step:.1f},{8 + plot - float(v) / float(top) * plot:.1f}"
            for i, v in enumerate(points)
            if v is not None
        ]
        lines.append({"name": name, "points": " ".join(coords), "colour": colour, "last": points[-1]})
    ticks = [
        {"x": f"{LEFT + i * step:.1f}", "label": labels[i]} for i in sorted({0, len(labels) // 2, len(labels) - 1})
    ]
    return {"width": WIDTH, "height": HEIGHT, "lines": lines, "ticks": ticks, "top": top, "baseline": HEIGHT - BOTTOM}
