"""The map of one violation, drawn on a reportlab canvas from the platform's own data (no
tiles, no network): the car's track through the alert's span and the margins around it, with
local times along it, its stops, the car's designated parking site, the forbidden venues and
allowed-area boundaries nearby, a coordinate grid, a scale bar and a north arrow.

The projection is equirectangular around the middle latitude (north up, equal scale in both
directions), which is true to better than 0.1 % over the few kilometres a map covers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from fleet.compliance.evidence_facts import AlertEvidence, MapArea, TrackPoint
from fleet.compliance.evidence_labels import Labels
from fleet.geo import M_PER_DEG_LAT, haversine_m

KM_PER_DEG_LAT = M_PER_DEG_LAT / 1000
#: The designated site is brought onto the map when it lies this close to the alert, km.
SITE_MAX_KM = 15.0
#: Smallest ground span a map shows, km (a car that barely moved still gets a street-scale map).
MIN_SPAN_KM = 0.6
#: Minutes between time labels, the first that gives at most MAX_TIME_LABELS along the window.
TIME_STEPS_MIN = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720)
MAX_TIME_LABELS = 12
#: Closest two time labels may sit, points.
LABEL_GAP_PT = 9 * mm

#: Bands at the top (north arrow) and bottom (scale bar) of the map kept clear of data, points.
TOP_BAND = 16 * mm
BOTTOM_BAND = 12 * mm

ALERT_COLOUR = colors.HexColor("#c0392b")
CONTEXT_COLOUR = colors.HexColor("#7f8c8d")
SITE_COLOUR = colors.HexColor("#1f5fbf")
FORBIDDEN_COLOUR = colors.HexColor("#d35400")
ALLOWED_COLOUR = colors.HexColor("#2e7d32")
STOP_COLOUR = colors.HexColor("#6a1b9a")
LAND_COLOUR = colors.HexColor("#f6f4ee")
GRID_COLOUR = colors.HexColor("#d9d6cc")


@dataclass(frozen=True)
class MapFrame:
    """Where the map sits on the page (points) and how degrees map onto it."""

    left: float
    bottom: float
    width: float
    height: float
    centre_lon: float
    centre_lat: float
    pt_per_km: float

    @property
    def km_per_deg_lon(self) -> float:
        return KM_PER_DEG_LAT * math.cos(math.radians(self.centre_lat))

    @classmethod
    def fit(cls, lons: Sequence[float], lats: Sequence[float], left: float, bottom: float, width: float,
            height: float) -> MapFrame:
        """The frame showing every point with a margin, at one scale in both directions."""
        mid_lat = (min(lats) + max(lats)) / 2
        km_lon = KM_PER_DEG_LAT * math.cos(math.radians(mid_lat))
        span_x = max((max(lons) - min(lons)) * km_lon, MIN_SPAN_KM) * 1.25
        span_y = max((max(lats) - min(lats)) * KM_PER_DEG_LAT, MIN_SPAN_KM) * 1.25
        return cls(left, bottom, width, height, (min(lons) + max(lons)) / 2, mid_lat,
                   min(width / span_x, height / span_y))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Page coordinates (points) of a place (degrees)."""
        return (self.left + self.width / 2 + (lon - self.centre_lon) * self.km_per_deg_lon * self.pt_per_km,
                self.bottom + self.height / 2 + (lat - self.centre_lat) * KM_PER_DEG_LAT * self.pt_per_km)

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        """The place (degrees) at page coordinates (points)."""
        return (self.centre_lon + (x - self.left - self.width / 2) / self.pt_per_km / self.km_per_deg_lon,
                self.centre_lat + (y - self.bottom - self.height / 2) / self.pt_per_km / KM_PER_DEG_LAT)

    def bounds(self) -> BaseGeometry:
        """The area shown, as a lon/lat box."""
        west, south = self.lonlat(self.left, self.bottom)
        east, north = self.lonlat(self.left + self.width, self.bottom + self.height)
        return box(west, south, east, north)

    @property
    def top(self) -> float:
        return self.bottom + self.height


def nice_length(target: float) -> float:
    """The 1-2-5 number at or below ``target`` (> 0)."""
    exponent = math.floor(math.log10(target))
    for factor in (5, 2, 1):
        if factor * 10 ** exponent <= target:
            return factor * 10 ** exponent
    return 10 ** exponent


def time_step_min(start: datetime, end: datetime) -> int:
    """Minutes between time labels for a track from ``start`` to ``end``."""
    span_min = max((end - start).total_seconds() / 60, 1)
    return next((s for s in TIME_STEPS_MIN if span_min / s <= MAX_TIME_LABELS), TIME_STEPS_MIN[-1])


def position_at(track: Sequence[TrackPoint], moment: datetime) -> tuple[float, float] | None:
    """(lon, lat) on the track at ``moment``, interpolated between fixes; None outside it."""
    for a, b in zip(track, track[1:], strict=False):
        if a.ts <= moment <= b.ts:
            share = 0.0 if b.ts == a.ts else (moment - a.ts) / (b.ts - a.ts)
            return a.lon + (b.lon - a.lon) * share, a.lat + (b.lat - a.lat) * share
    return None


def _rings(geometry: BaseGeometry) -> Iterable[list[tuple[float, float]]]:
    polygons = getattr(geometry, "geoms", [geometry])
    for polygon in polygons:
        if polygon.is_empty or not hasattr(polygon, "exterior"):
            continue
        yield list(polygon.exterior.coords)
        for interior in polygon.interiors:
            yield list(interior.coords)


class _Labeller:
    """Places labels beside points of one map so that they overlap neither each other nor
    the map's edge, trying the four sides of the point in turn."""

    SIDES = ((2.4 * mm, 1.2 * mm), (2.4 * mm, -4.2 * mm), (-2.4 * mm, 1.2 * mm), (-2.4 * mm, -4.2 * mm))

    def __init__(self, drawer: EvidenceMap, frame: MapFrame) -> None:
        self.drawer = drawer
        self.frame = frame
        self.placed: list[tuple[float, float, float, float]] = []

    def _fits(self, b: tuple[float, float, float, float]) -> bool:
        f = self.frame
        inside = f.left <= b[0] and b[2] <= f.left + f.width and f.bottom <= b[1] and b[3] <= f.bottom + f.height
        return inside and all(b[2] < o[0] or b[0] > o[2] or b[3] < o[1] or b[1] > o[3] for o in self.placed)

    def place(self, xy: tuple[float, float], text: str, colour: Any, size: float, force: bool = False) -> bool:
        """Put a label beside ``xy`` where it fits; a forced one goes to the first side that
        stays on the map when none fits. Returns whether it was placed."""
        width = self.drawer.c.stringWidth(text, self.drawer.font, size)
        sides = [(xy[0] + dx if dx > 0 else xy[0] + dx - width, xy[1] + dy) for dx, dy in self.SIDES]
        boxes = [(x - 1, y - 1, x + width + 1, y + size) for x, y in sides]
        free = [i for i, b in enumerate(boxes) if self._fits(b)]
        if not free and not force:
            return False
        f = self.frame
        on_map = [i for i, b in enumerate(boxes) if f.left <= b[0] and b[2] <= f.left + f.width] or [0]
        chosen = free[0] if free else on_map[0]
        self.placed.append(boxes[chosen])
        self.drawer._halo_text(*sides[chosen], text, size, colour)
        return True


class EvidenceMap:
    """Draws one violation's map into a box of the page, and its legend under the box."""

    def __init__(self, canvas: Canvas, labels: Labels, tz: ZoneInfo, font: str) -> None:
        self.c = canvas
        self.labels = labels
        self.tz = tz
        self.font = font

    # -- text -----------------------------------------------------------------------------
    def _halo_text(self, x: float, y: float, text: str, size: float, colour: Any = colors.black,
                   anchor: str = "left") -> None:
        """Text with a white outline so that it reads over lines and fills."""
        c = self.c
        width = c.stringWidth(text, self.font, size)
        x = x - width / 2 if anchor == "centre" else (x - width if anchor == "right" else x)
        c.saveState()
        halo = c.beginText(x, y)
        halo.setFont(self.font, size)
        halo.setTextRenderMode(1)
        c.setStrokeColor(colors.white)
        c.setLineWidth(2.2)
        c.setLineJoin(1)
        halo.textOut(text)
        c.drawText(halo)
        c.restoreState()
        c.setFillColor(colour)
        c.setFont(self.font, size)
        c.drawString(x, y, text)

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%H:%M")

    # -- the map --------------------------------------------------------------------------
    def draw(self, ev: AlertEvidence, left: float, bottom: float, width: float, height: float) -> None:
        """The map of ``ev`` in the box (points); the legend goes in the 14 mm under it."""
        c = self.c
        lons = [p.lon for p in ev.track] + [s.lon for s in ev.stops]
        lats = [p.lat for p in ev.track] + [s.lat for s in ev.stops]
        if ev.lon is not None and ev.lat is not None:
            lons.append(ev.lon)
            lats.append(ev.lat)
        site_far_km = None
        if ev.site is not None and lons:
            centre = ev.site.geometry.centroid
            ref_lon, ref_lat = (ev.lon, ev.lat) if ev.lon is not None and ev.lat is not None else (lons[0], lats[0])
            site_km = haversine_m(ref_lat, ref_lon, centre.y, centre.x) / 1000
            if site_km <= SITE_MAX_KM:
                minx, miny, maxx, maxy = ev.site.geometry.bounds
                lons += [minx, maxx]
                lats += [miny, maxy]
            else:
                site_far_km = site_km
        c.saveState()
        c.setFillColor(LAND_COLOUR)
        c.setStrokeColor(colors.grey)
        c.rect(left, bottom, width, height, stroke=1, fill=1)
        if not lons:
            c.setFillColor(colors.black)
            self._halo_text(left + width / 2, bottom + height / 2, self.labels.text("map.no_positions"), 11,
                            anchor="centre")
            c.restoreState()
            self._legend(ev, left, bottom - 6 * mm, width, None)
            return
        # the data keeps clear of the north arrow's band at the top and the scale bar's at the bottom
        inner = MapFrame.fit(lons, lats, left, bottom, width, height - TOP_BAND - BOTTOM_BAND)
        shift_lat = (BOTTOM_BAND - TOP_BAND) / 2 / inner.pt_per_km / KM_PER_DEG_LAT
        frame = MapFrame(left, bottom, width, height, inner.centre_lon, inner.centre_lat - shift_lat, inner.pt_per_km)
        clip = c.beginPath()
        clip.rect(left, bottom, width, height)
        c.clipPath(clip, stroke=0, fill=0)
        self._grid(frame)
        shown = frame.bounds()
        for area in ev.areas:
            if area.role == "allowed":
                self._area(frame, area, ALLOWED_COLOUR, fill_alpha=0.06, dash=(6, 3))
        for area in ev.areas:
            if area.role == "forbidden" and area.geometry.intersects(shown):
                self._area(frame, area, FORBIDDEN_COLOUR, fill_alpha=0.25)
        if ev.site is not None and ev.site.geometry.intersects(shown):
            self._area(frame, ev.site, SITE_COLOUR, fill_alpha=0.25)
        self._track(frame, ev)
        self._stops(frame, ev)
        self._area_labels(frame, ev, shown)
        self._time_labels(frame, ev)
        c.restoreState()
        self._north_arrow(left + width - 12 * mm, bottom + height - 20 * mm)
        self._scale_bar(frame, left + 6 * mm, bottom + 6 * mm)
        self._legend(ev, left, bottom - 6 * mm, width, site_far_km)

    def _grid(self, frame: MapFrame) -> None:
        """Meridians and parallels at a round step, labelled in degrees at the edges."""
        c = self.c
        west, south, east, north = frame.bounds().bounds
        step = nice_length(max((north - south), (east - west) * 0.5) / 3)
        c.setStrokeColor(GRID_COLOUR)
        c.setLineWidth(0.4)
        c.setFillColor(colors.HexColor("#8a8778"))
        c.setFont(self.font, 6)
        lon = math.ceil(west / step) * step
        while lon < east:
            x, _ = frame.xy(lon, south)
            c.line(x, frame.bottom, x, frame.bottom + frame.height)
            if x + 16 * mm < frame.left + frame.width:
                c.drawString(x + 1, frame.bottom + frame.height - 7, f"{lon:.3f}°E")
            lon += step
        lat = math.ceil(south / step) * step
        while lat < north:
            _, y = frame.xy(west, lat)
            c.line(frame.left, y, frame.left + frame.width, y)
            c.drawString(frame.left + 2, y + 1.5, f"{lat:.3f}°N")
            lat += step

    def _area(self, frame: MapFrame, area: MapArea, colour: Any, fill_alpha: float,
              dash: tuple[float, float] | None = None) -> None:
        c = self.c
        path = c.beginPath()
        for ring in _rings(area.geometry):
            path.moveTo(*frame.xy(*ring[0]))
            for lon, lat in ring[1:]:
                path.lineTo(*frame.xy(lon, lat))
            path.close()
        c.saveState()
        c.setFillColor(colour, alpha=fill_alpha)
        c.setStrokeColor(colour)
        c.setLineWidth(1.2)
        if dash:
            c.setDash(*dash)
        c.drawPath(path, stroke=1, fill=1, fillMode=0)
        c.restoreState()

    def _area_labels(self, frame: MapFrame, ev: AlertEvidence, shown: BaseGeometry) -> None:
        """Names of the site and venues at a point inside them (and on the map), and of each
        allowed area at a point of its boundary away from the map's edges."""
        pad = 25 * mm
        west, south = frame.lonlat(frame.left + pad, frame.bottom + pad)
        east, north = frame.lonlat(frame.left + frame.width - pad, frame.top - pad)
        inset = box(west, south, east, north)
        items = [(a, FORBIDDEN_COLOUR) for a in ev.areas if a.role == "forbidden"]
        if ev.site is not None:
            items.append((ev.site, SITE_COLOUR))
        for area, colour in items:
            part = area.geometry.intersection(shown)
            if part.is_empty:
                continue
            anchor = part.representative_point()
            x, top = frame.xy(anchor.x, area.geometry.bounds[3])
            name = area.name if area.role != "site" else self.labels.colon(self.labels.text("map.site"), area.name)
            self._halo_text(x, min(top, frame.bottom + frame.height - 10 * mm) + 2.5 * mm, name, 8, colour,
                            anchor="centre")
        for area in ev.areas:
            if area.role != "allowed":
                continue
            edge = area.geometry.boundary.intersection(inset)
            if not edge.is_empty:
                point = edge.representative_point()
                x, y = frame.xy(point.x, point.y)
                self._halo_text(x + 1.5 * mm, y, area.name, 7.5, ALLOWED_COLOUR)

    def _track(self, frame: MapFrame, ev: AlertEvidence) -> None:
        """The margins before and after grey and dashed, the alert's own span red."""
        c = self.c
        end = ev.ended_at or ev.started_at
        pieces: list[tuple[bool, list[TrackPoint]]] = []
        for point in ev.track:
            inside = ev.started_at <= point.ts <= end
            if not pieces or pieces[-1][0] != inside:
                previous = pieces[-1][1][-1:] if pieces else []
                pieces.append((inside, list(previous)))
            pieces[-1][1].append(point)
        for inside, points in pieces:
            if len(points) < 2:
                continue
            path = c.beginPath()
            path.moveTo(*frame.xy(points[0].lon, points[0].lat))
            for p in points[1:]:
                path.lineTo(*frame.xy(p.lon, p.lat))
            c.saveState()
            c.setStrokeColor(ALERT_COLOUR if inside else CONTEXT_COLOUR)
            c.setLineWidth(2.2 if inside else 1.2)
            c.setLineJoin(1)
            c.setLineCap(1)
            if not inside:
                c.setDash(4, 2)
            c.drawPath(path, stroke=1, fill=0)
            c.restoreState()
        if ev.track:
            self._dot(frame.xy(ev.track[0].lon, ev.track[0].lat), colors.HexColor("#27ae60"), 2.0 * mm)
            self._dot(frame.xy(ev.track[-1].lon, ev.track[-1].lat), colors.black, 2.0 * mm)
        if ev.lon is not None and ev.lat is not None:
            x, y = frame.xy(ev.lon, ev.lat)
            c.setStrokeColor(ALERT_COLOUR)
            c.setLineWidth(1.6)
            c.circle(x, y, 3.2 * mm, stroke=1, fill=0)
            c.line(x - 4.5 * mm, y, x - 2 * mm, y)
            c.line(x + 2 * mm, y, x + 4.5 * mm, y)

    def _dot(self, xy: tuple[float, float], colour: Any, radius: float) -> None:
        self.c.setFillColor(colour)
        self.c.setStrokeColor(colors.white)
        self.c.setLineWidth(0.8)
        self.c.circle(xy[0], xy[1], radius, stroke=1, fill=1)

    def _stops(self, frame: MapFrame, ev: AlertEvidence) -> None:
        c = self.c
        side = 3.4 * mm
        for stop in ev.stops:
            x, y = frame.xy(stop.lon, stop.lat)
            c.setFillColor(STOP_COLOUR)
            c.setStrokeColor(colors.white)
            c.setLineWidth(0.8)
            c.rect(x - side / 2, y - side / 2, side, side, stroke=1, fill=1)

    def _time_labels(self, frame: MapFrame, ev: AlertEvidence) -> None:
        """Labels by priority: the track's start and end, the alert's place and the stops
        (always), then a time every few minutes where it crowds none already placed."""
        if not ev.track:
            return
        labeller = _Labeller(self, frame)
        first, last = ev.track[0], ev.track[-1]
        labeller.place(frame.xy(first.lon, first.lat), f"{self.labels.text('map.start')} {self._local(first.ts)}",
                       colors.HexColor("#1e8449"), 8.5, force=True)
        labeller.place(frame.xy(last.lon, last.lat), f"{self.labels.text('map.end')} {self._local(last.ts)}",
                       colors.black, 8.5, force=True)
        if ev.lon is not None and ev.lat is not None:
            labeller.place(frame.xy(ev.lon, ev.lat), f"{self.labels.text('map.alert')} {self._local(ev.started_at)}",
                           ALERT_COLOUR, 8.5, force=True)
        for number, stop in enumerate(ev.stops, start=1):
            label = f"{self.labels.text('map.stop', n=number)} {self._local(stop.started_at)}–{self._local(stop.ended_at)}"
            labeller.place(frame.xy(stop.lon, stop.lat), label, STOP_COLOUR, 7.5, force=True)
        step = time_step_min(first.ts, last.ts)
        local_first = first.ts.astimezone(self.tz)
        tick = local_first.replace(second=0, microsecond=0, minute=local_first.minute - local_first.minute % step
                                   if step < 60 else 0)
        c = self.c
        while tick <= last.ts:
            where = position_at(ev.track, tick) if tick >= first.ts else None
            if where is not None:
                x, y = frame.xy(*where)
                if labeller.place((x, y), tick.strftime("%H:%M"), colors.HexColor("#34495e"), 7):
                    c.setFillColor(colors.white)
                    c.setStrokeColor(colors.HexColor("#34495e"))
                    c.setLineWidth(0.8)
                    c.circle(x, y, 1.1 * mm, stroke=1, fill=1)
            tick += timedelta(minutes=step)

    def _north_arrow(self, x: float, y: float) -> None:
        """A split arrowhead pointing up (north), its west half black, its east half white."""
        c = self.c
        c.saveState()
        c.setStrokeColor(colors.black)
        for side, fill in ((-1, colors.black), (1, colors.white)):
            path = c.beginPath()
            path.moveTo(x, y + 10 * mm)
            path.lineTo(x + side * 3 * mm, y)
            path.lineTo(x, y + 2.5 * mm)
            path.close()
            c.setFillColor(fill)
            c.drawPath(path, stroke=1, fill=1)
        c.restoreState()
        self._halo_text(x, y + 11.5 * mm, self.labels.text("map.north"), 10, anchor="centre")

    def _scale_bar(self, frame: MapFrame, x: float, y: float) -> None:
        """Two alternating segments making a round length near a fifth of the map's width."""
        c = self.c
        bar_km = nice_length(frame.width / frame.pt_per_km / 5)
        length = bar_km * frame.pt_per_km
        c.saveState()
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.8)
        c.setFillColor(colors.white)
        c.rect(x - 1.5 * mm, y - 1.5 * mm, length + 3 * mm + 22 * mm, 8 * mm, stroke=0, fill=1)
        for i in range(2):
            c.setFillColor(colors.black if i == 0 else colors.white)
            c.rect(x + i * length / 2, y, length / 2, 1.6 * mm, stroke=1, fill=1)
        c.restoreState()
        unit_km, unit_m = self.labels.text("unit.km"), self.labels.text("unit.m")
        text = f"{bar_km:g} {unit_km}" if bar_km >= 1 else f"{bar_km * 1000:g} {unit_m}"
        c.setFillColor(colors.black)
        c.setFont(self.font, 7)
        c.drawString(x, y + 2.6 * mm, "0")
        c.drawString(x + length + 1.5 * mm, y + 0.2 * mm, text)
        c.drawString(x + length / 2 - 1 * mm, y + 2.6 * mm, f"{bar_km / 2:g}" if bar_km >= 1 else f"{bar_km * 500:g}")

    def _legend(self, ev: AlertEvidence, left: float, top: float, width: float, site_far_km: float | None) -> None:
        """One row of swatches under the map, and a line for a site off the map."""
        c = self.c
        margin_min = int(round((ev.started_at - ev.window_start).total_seconds() / 60))
        items: list[tuple[str, str, Any]] = [
            ("line", self.labels.text("map.track_alert"), ALERT_COLOUR),
            ("dash", self.labels.text("map.track_context", min=margin_min), CONTEXT_COLOUR),
            ("stop", self.labels.text("v.stops"), STOP_COLOUR),
            ("fill", self.labels.text("map.site"), SITE_COLOUR),
            ("fill", self.labels.text("map.forbidden"), FORBIDDEN_COLOUR),
            ("dash", self.labels.text("map.allowed"), ALLOWED_COLOUR),
        ]
        x, y = left, top
        c.setFont(self.font, 7.5)
        for shape_kind, text, colour in items:
            item_w = 8.5 * mm + c.stringWidth(text, self.font, 7.5) + 5 * mm
            if x + item_w > left + width + 5 * mm:
                x, y = left, y - 4.5 * mm
            c.saveState()
            c.setStrokeColor(colour)
            c.setFillColor(colour, alpha=0.35 if shape_kind == "fill" else 1)
            c.setLineWidth(2 if shape_kind == "line" else 1.2)
            if shape_kind == "dash":
                c.setDash(4, 2)
            if shape_kind in ("line", "dash"):
                c.line(x, y + 1 * mm, x + 7 * mm, y + 1 * mm)
            elif shape_kind == "stop":
                c.rect(x + 2 * mm, y - 0.5 * mm, 3 * mm, 3 * mm, stroke=0, fill=1)
            else:
                c.rect(x, y - 0.5 * mm, 7 * mm, 3 * mm, stroke=1, fill=1)
            c.restoreState()
            c.setFillColor(colors.black)
            c.setFont(self.font, 7.5)
            c.drawString(x + 8.5 * mm, y, text)
            x += item_w
        y -= 4.5 * mm
        notes = []
        if ev.site is None:
            notes.append(self.labels.text("map.no_site"))
        elif site_far_km is not None:
            notes.append(self.labels.text("map.site_far", name=ev.site.name, km=f"{site_far_km:.1f}"))
        allowed = [a.name for a in ev.areas if a.role == "allowed"]
        if allowed:
            notes.append(self.labels.colon(self.labels.text("map.allowed"), self.labels.joined(allowed)))
        if notes:
            c.drawString(left, y, self.labels.joined(notes, strong=True)[:int(width / 3)])
