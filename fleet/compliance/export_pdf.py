"""The PDF summary of an export (reportlab): filters and totals, leased spend per agency,
the cars driven most, then one page per confirmed violation with a map of its track.

Maps are drawn from the positions themselves (equirectangular, north up, scale bar), so the
PDF needs no map tiles or network access. Chinese text uses the STSong-Light CID font that
PDF readers provide."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from fleet.geo import M_PER_DEG_LAT

FONT = "STSong-Light"
MAP_BOX_MM = (170.0, 170.0)
KM_PER_DEG_LAT = M_PER_DEG_LAT / 1000


@dataclass
class ViolationMap:
    """What one map page shows: the alert, its disposition and the car's track (lon, lat)."""

    alert_id: int
    kind: str
    plate: str
    started_at: datetime
    ended_at: datetime | None
    lat: float | None
    lon: float | None
    reviewer: str | None
    reason: str | None
    track: list[tuple[float, float]] = field(default_factory=list)


class PdfSummary:
    """Writes the summary page(s) first, then one map page per violation, page by page."""

    def __init__(self, path: Path, tz: ZoneInfo) -> None:
        if FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        self.path = path
        self.tz = tz
        self._canvas = Canvas(str(path), pagesize=A4, invariant=False, pageCompression=1)
        self._width, self._height = A4
        self._y = self._height - 20 * mm
        self.maps = 0

    def _line(self, text: str, size: float = 10, gap: float = 5.5) -> None:
        if self._y < 20 * mm:
            self._canvas.showPage()
            self._y = self._height - 20 * mm
        self._canvas.setFont(FONT, size)
        self._canvas.drawString(18 * mm, self._y, text[:110])
        self._y -= gap * mm

    def summary(self, title: str, facts: Sequence[tuple[str, str]]) -> None:
        self._line(title, size=16, gap=10)
        for label, value in facts:
            self._line(f"{label}: {value}")
        self._y -= 4 * mm

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        self._line(title, size=12, gap=7)
        self._line("    ".join(columns), size=9, gap=5)
        for row in rows:
            self._line("    ".join("" if v is None else str(v) for v in row), size=9, gap=4.5)
        self._y -= 4 * mm

    def violation(self, item: ViolationMap) -> None:
        """A page for one confirmed violation: facts, then the map of its track."""
        self._canvas.showPage()
        self._y = self._height - 20 * mm
        local = item.started_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        self._line(f"违规确认 / confirmed violation #{item.alert_id}: {item.kind}", size=13, gap=8)
        self._line(f"{item.plate}    {local} ({self.tz.key})    points: {len(item.track)}")
        self._line(f"reviewer: {item.reviewer or '-'}    reason: {item.reason or '-'}")
        self._draw_map(item)
        self.maps += 1

    def _draw_map(self, item: ViolationMap) -> None:
        c = self._canvas
        box_w, box_h = MAP_BOX_MM[0] * mm, MAP_BOX_MM[1] * mm
        left, bottom = 20 * mm, self._y - box_h - 5 * mm
        c.setStrokeColor(colors.grey)
        c.rect(left, bottom, box_w, box_h)
        points = list(item.track)
        if item.lon is not None and item.lat is not None:
            points_for_extent = points + [(item.lon, item.lat)]
        else:
            points_for_extent = points
        if not points_for_extent:
            c.setFont(FONT, 10)
            c.drawString(left + 5 * mm, bottom + box_h / 2, "no GPS positions recorded for this alert")
            return
        lons = [p[0] for p in points_for_extent]
        lats = [p[1] for p in points_for_extent]
        mid_lat = (min(lats) + max(lats)) / 2
        km_per_deg_lon = KM_PER_DEG_LAT * math.cos(math.radians(mid_lat))
        span_km = max((max(lons) - min(lons)) * km_per_deg_lon, (max(lats) - min(lats)) * KM_PER_DEG_LAT, 0.2) * 1.15
        scale = min(box_w, box_h) / span_km  # points per km
        centre_lon, centre_lat = (min(lons) + max(lons)) / 2, mid_lat

        def xy(lon: float, lat: float) -> tuple[float, float]:
            return (left + box_w / 2 + (lon - centre_lon) * km_per_deg_lon * scale,
                    bottom + box_h / 2 + (lat - centre_lat) * KM_PER_DEG_LAT * scale)

        if len(points) > 1:
            c.setStrokeColor(colors.HexColor("#1f5fbf"))
            c.setLineWidth(1.5)
            path = c.beginPath()
            path.moveTo(*xy(*points[0]))
            for lon, lat in points[1:]:
                path.lineTo(*xy(lon, lat))
            c.drawPath(path, stroke=1, fill=0)
        if points:
            self._marker(*xy(*points[0]), colors.green, "start")
            self._marker(*xy(*points[-1]), colors.black, "end")
        if item.lon is not None and item.lat is not None:
            self._marker(*xy(item.lon, item.lat), colors.red, "alert")
        self._scale_bar(left + 5 * mm, bottom + 5 * mm, scale, span_km)
        c.setFont(FONT, 9)
        c.drawString(left + box_w - 10 * mm, bottom + box_h - 8 * mm, "N")

    def _marker(self, x: float, y: float, colour: Any, label: str) -> None:
        c = self._canvas
        c.setFillColor(colour)
        c.circle(x, y, 2.2 * mm, stroke=0, fill=1)
        c.setFont(FONT, 8)
        c.drawString(x + 3 * mm, y + 1 * mm, label)
        c.setFillColor(colors.black)

    def _scale_bar(self, x: float, y: float, scale: float, span_km: float) -> None:
        bar_km = 10 ** math.floor(math.log10(max(span_km / 4, 0.01)))
        c = self._canvas
        c.setStrokeColor(colors.black)
        c.setLineWidth(2)
        c.line(x, y, x + bar_km * scale, y)
        c.setFont(FONT, 8)
        c.drawString(x, y + 2 * mm, f"{bar_km:g} km")

    def close(self) -> None:
        self._canvas.showPage()
        self._canvas.save()
