"""Server-side SVG charts (no JavaScript): data in, inline SVG markup out.

This module does the arithmetic (scales, ticks, positions); the markup lives in the templates
`chart_bar.html` and `chart_line.html`, which escape every label. Each chart carries an
accessible `<title>` and per-element `<title>` tooltips.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from markupsafe import Markup

from carbon_assess.report.formatting import fmt, num, pct, verdict_class
from carbon_assess.report.templating import render

PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#7b1fa2", "#c62828", "#00838f", "#6d4c41")
# bar colours by verdict_class (the grade; the status where the grade is provisional)
_VERDICT_FILL = {"good": "#2e7d32", "warn": "#e0a100", "bad": "#c62828", "neutral": "#9e9e9e"}
_TARGET_COLOR, _EXPECTED_COLOR = "#1f2328", "#8c959f"
WIDTH = 760


def _nice_step(span: float, ticks: int = 6) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _domain(values: list[float], include_zero: bool = True) -> tuple[float, float, float]:
    lo, hi = min(values), max(values)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    step = _nice_step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def _tick_label(value: float, step: float) -> str:
    digits = 0 if step >= 1 else min(4, max(1, -math.floor(math.log10(step))))
    return fmt(value, digits)


def _ticks(lo: float, hi: float, step: float) -> Iterator[float]:
    """Axis tick values lo, lo + step, ... up to hi (tolerating float drift)."""
    tick = lo
    while tick <= hi + step / 1000:
        yield tick
        tick += step


def svg_bar_chart(rows: list[dict[str, Any]], title: str = "") -> Markup:
    """Horizontal bars of cumulative decline per province, a black tick at the target and a
    grey tick at the decline expected by the assessment year; bar colour = the grade (fail red
    whatever the status, e.g. met but vetoed; the status decides only a provisional grade); the
    tooltip gives the reason and the margin."""
    items = sorted(
        (r for r in rows if num(r.get("cumulative_decline_pct")) is not None),
        key=lambda r: -(num(r["cumulative_decline_pct"]) or 0.0),
    )
    missing = [r for r in rows if num(r.get("cumulative_decline_pct")) is None]
    title = title or "Cumulative decline of carbon intensity vs target, per province"
    if not items:
        return render("chart_bar.html", title=title, bars=[])
    values = []
    for r in items:
        values += [num(r.get(k)) for k in ("cumulative_decline_pct", "target_pct",
                                           "expected_decline_pct")]
    lo, hi, step = _domain([v for v in values if v is not None])
    label_w, right, top, row_h, bottom = 150, 20, 34, 17, 44
    plot_w = WIDTH - label_w - right
    plot_bottom = top + row_h * len(items)

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    bars = []
    for i, r in enumerate(items):
        y = top + i * row_h
        decline = num(r["cumulative_decline_pct"]) or 0.0
        target, expected = num(r.get("target_pct")), num(r.get("expected_decline_pct"))
        x0, x1 = sorted((x(0.0), x(decline)))
        name = r.get("name_en") or r.get("province_code")
        bars.append({
            "tip": "; ".join(t for t in (
                f"{name}: decline {pct(decline)}, target {pct(target)}, expected "
                f"{pct(expected)}, {r.get('status')}, grade {r.get('grade')}",
                r.get("reason"), r.get("margin_text")) if t),
            "name": name, "y": y, "x": x0, "width": max(x1 - x0, 0.5),
            "fill": _VERDICT_FILL[verdict_class(r.get("status"), r.get("grade"))],
            "expected_x": (x(expected) if expected is not None and target is not None
                           and abs(expected - target) > 1e-6 else None),
            "target_x": x(target) if target is not None else None,
        })
    ly = plot_bottom + 22
    legend, lx = [], label_w
    for kind, color, text in [("rect", _VERDICT_FILL["good"], "good or on track"),
                              ("rect", _VERDICT_FILL["warn"], "pass"),
                              ("rect", _VERDICT_FILL["bad"], "fail (incl. veto)"),
                              ("rect", _VERDICT_FILL["neutral"], "other"),
                              ("line", _TARGET_COLOR, "target"),
                              ("dash", _EXPECTED_COLOR, "expected by now")]:
        legend.append({"kind": kind, "color": color, "text": text, "x": lx})
        lx += 24 + 6.5 * len(text)
    return render(
        "chart_bar.html", title=title, width=WIDTH, height=plot_bottom + bottom,
        label_w=label_w, top=top, row_h=row_h, plot_bottom=plot_bottom, bars=bars,
        ticks=[{"x": x(t), "label": _tick_label(t, step)} for t in _ticks(lo, hi, step)],
        zero_x=x(0.0), legend=legend, legend_y=ly, target_color=_TARGET_COLOR,
        expected_color=_EXPECTED_COLOR,
        missing=[str(r.get("name_en") or r.get("province_code")) for r in missing],
    )


def svg_line_chart(
    series: list[dict[str, Any]], title: str, y_label: str, *, include_zero: bool = False
) -> Markup:
    """Lines over years. `series`: dicts with `label`, `points` [(year, value)], optional
    `color` and `dashed` (a dashed series has no point markers)."""
    pts = [(float(x), y) for s in series for x, y in s["points"] if num(y) is not None]
    if not pts:
        return render("chart_line.html", title=title, lines=None)
    xs = [p[0] for p in pts]
    lo, hi, step = _domain([float(p[1]) for p in pts], include_zero=include_zero)
    x_lo, x_hi = min(xs), max(xs)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    height = 300
    left, right, top, bottom = 64, 20, 30, 58
    plot_w, plot_h = WIDTH - left - right, height - top - bottom

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * plot_w

    def py(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    years = range(int(math.ceil(x_lo)), int(math.floor(x_hi)) + 1)
    every = max(1, math.ceil(len(years) / 16))
    lines, lx = [], left
    for i, s in enumerate(series):
        points = [(float(x), float(y)) for x, y in s["points"] if num(y) is not None]
        if not points:
            continue
        lines.append({
            "label": s["label"], "color": s.get("color") or PALETTE[i % len(PALETTE)],
            "dashed": bool(s.get("dashed")), "legend_x": lx,
            "path": " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points),
            "markers": [] if s.get("dashed") else [
                {"x": px(x), "y": py(y), "tip": f"{s['label']} {int(x)}: {fmt(y, 3)}"}
                for x, y in points
            ],
        })
        lx += 34 + 6.2 * len(str(s["label"]))
    return render(
        "chart_line.html", title=title, y_label=y_label, width=WIDTH, height=height, left=left,
        top=top, right_x=left + plot_w, axis_y=top + plot_h, label_y=top + plot_h / 2,
        ticks=[{"y": py(t), "label": _tick_label(t, step)} for t in _ticks(lo, hi, step)],
        years=[{"x": px(y), "year": y} for y in years if not (y - years[0]) % every],
        zero_y=py(0) if lo < 0 < hi else None, lines=lines, legend_y=height - 12,
    )
