"""The PDF of an export (reportlab), written for discipline inspectors (纪委) in Chinese (the
default) or English: the filters and totals, leased spend per agency, the cars driven most,
then one evidence page per confirmed violation: the rule with its thresholds and version, the
span, the car, the driver on duty, the car's orders of that day, the review decision, and a
map of the track (``evidence_map``).

The pages are collected first and drawn on ``close``: the embedded CJK font is cut to the
characters the document uses (``evidence_font``), so every page's text must be known before
the first is drawn. The document info names the range and organisation (title), the
exporting user and the platform (author), the subject and the creation date."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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

import fleet
from fleet.compliance.evidence_facts import AlertEvidence
from fleet.compliance.evidence_font import EvidenceFontError, register_cjk_font
from fleet.compliance.evidence_labels import LABELS, Labels, Language
from fleet.compliance.evidence_map import EvidenceMap

#: The CID font PDF readers provide, for an English PDF where no CJK font is installed.
READER_FONT = "STSong-Light"
MARGIN = 15 * mm
LINE_PT = 4.3 * mm
LABEL_W = 27 * mm
#: Orders of the day listed on a violation page at most (the rest are in trips.csv).
MAX_ORDERS = 6
MIN_MAP_H = 90 * mm
#: Characters of numbers and Latin words, kept together on one line when wrapping.
WORD_CHARS = "0123456789#.:-–/%abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
LEGEND_H = 13 * mm

__all__ = ["DocumentInfo", "EvidenceFontError", "Language", "PdfSummary"]


@dataclass(frozen=True)
class DocumentInfo:
    """The PDF's document information: title, author, subject (creation date is set on save)."""

    title: str
    author: str
    subject: str


@dataclass(frozen=True)
class _Summary:
    title: str
    facts: list[tuple[str, str]]


@dataclass(frozen=True)
class _Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


class PdfSummary:
    """Collects the summary, tables and violation pages, then writes the PDF on ``close``."""

    def __init__(self, path: Path, tz: ZoneInfo, info: DocumentInfo, language: Language = Language.zh) -> None:
        self.path = path
        self.tz = tz
        self.info = info
        self.labels = Labels(Language(language))
        self._blocks: list[_Summary | _Table | AlertEvidence] = []
        self.maps = 0

    def summary(self, title: str, facts: Sequence[tuple[str, str]]) -> None:
        self._blocks.append(_Summary(title, list(facts)))

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        self._blocks.append(_Table(title, list(columns), [["" if v is None else str(v) for v in r] for r in rows]))

    def violation(self, item: AlertEvidence) -> None:
        """One evidence page for a confirmed violation."""
        self._blocks.append(item)
        self.maps += 1

    # -- writing --------------------------------------------------------------------------
    def _texts(self) -> list[str]:
        texts = [self.info.title, self.info.author, self.info.subject, self.tz.key]
        texts += [zh if self.labels.language == Language.zh else en for zh, en in LABELS.values()]
        for block in self._blocks:
            if isinstance(block, _Summary):
                texts += [block.title, *(t for pair in block.facts for t in pair)]
            elif isinstance(block, _Table):
                texts += [block.title, *block.columns, *(v for row in block.rows for v in row)]
            else:
                texts += block.texts()
        return texts

    def _font(self) -> str:
        try:
            return register_cjk_font(self._texts())
        except EvidenceFontError:
            if self.labels.language == Language.zh:
                raise
        if READER_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(READER_FONT))
        return READER_FONT

    def close(self) -> None:
        """Draw every page and save the file. Raises ``EvidenceFontError`` for a Chinese PDF
        when no CJK font is installed."""
        font = self._font()
        canvas = Canvas(str(self.path), pagesize=A4, invariant=False, pageCompression=1)
        canvas.setTitle(self.info.title)
        canvas.setAuthor(self.info.author)
        canvas.setSubject(self.info.subject)
        canvas.setCreator(f"{self.labels.text('platform')} {fleet.__version__}")
        canvas.setKeywords(self.labels.text("doc.title"))
        page = _Page(canvas, font, self.labels, self.tz)
        violations = 0
        for block in self._blocks:
            if isinstance(block, _Summary):
                page.summary(block)
            elif isinstance(block, _Table):
                page.table(block)
            else:
                violations += 1
                page.violation(block, violations)
        canvas.showPage()
        canvas.save()


class _Page:
    """The drawing of pages on one canvas, top to bottom."""

    def __init__(self, canvas: Canvas, font: str, labels: Labels, tz: ZoneInfo) -> None:
        self.c = canvas
        self.font = font
        self.labels = labels
        self.tz = tz
        self.width, self.height = A4
        self.y = self.height - MARGIN
        self.started = False

    # -- text helpers ---------------------------------------------------------------------
    def wrap(self, text: str, width: float, size: float) -> list[str]:
        """Lines of ``text`` no wider than ``width`` points (breaking Latin text at spaces)."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            for char in paragraph:
                if self.c.stringWidth(line + char, self.font, size) <= width:
                    line += char
                    continue
                cut = line.rfind(" ")
                run = len(line) - len(line.rstrip(WORD_CHARS))  # a number or word being cut
                if char != " " and cut > len(line) // 2 and line[cut + 1:].isascii():
                    lines.append(line[:cut])
                    line = line[cut + 1:] + char
                elif char in WORD_CHARS and 0 < run < len(line) // 2:
                    lines.append(line[:-run])
                    line = line[-run:] + char
                elif line[-1:] in "（(":  # an opening bracket goes with what it opens
                    lines.append(line[:-1])
                    line = line[-1] + char
                else:
                    lines.append(line)
                    line = char.lstrip()
            lines.append(line)
        return lines

    def _new_page(self) -> None:
        if self.started:
            self.c.showPage()
        self.started = True
        self.y = self.height - MARGIN

    def _ensure(self, needed: float) -> None:
        if not self.started or self.y - needed < MARGIN:
            self._new_page()

    def line(self, text: str, size: float = 9.5, x: float = MARGIN, colour: Any = colors.black,
             gap: float = LINE_PT) -> None:
        self._ensure(gap)
        self.c.setFillColor(colour)
        self.c.setFont(self.font, size)
        self.c.drawString(x, self.y - size * 0.8, text)
        self.y -= gap

    def field(self, label: str, value: str, x: float, width: float, size: float = 9,
              label_w: float = LABEL_W) -> float:
        """A label and its wrapped value from the current height; returns the height used."""
        c = self.c
        c.setFont(self.font, size)
        c.setFillColor(colors.HexColor("#555555"))
        c.drawString(x, self.y - size * 0.8, label)
        c.setFillColor(colors.black)
        lines = self.wrap(value, width - label_w, size)
        for i, text in enumerate(lines):
            c.drawString(x + label_w, self.y - size * 0.8 - i * LINE_PT, text)
        return len(lines) * LINE_PT

    # -- summary pages --------------------------------------------------------------------
    def summary(self, block: _Summary) -> None:
        self._ensure(20 * mm)
        self.line(block.title, size=16, gap=10 * mm)
        for label, value in block.facts:
            self._ensure(LINE_PT)
            self.y -= self.field(label, value, MARGIN, self.width - 2 * MARGIN, 10, label_w=40 * mm) + 1 * mm
        self.y -= 4 * mm

    def table(self, block: _Table) -> None:
        self._ensure(18 * mm)
        self.line(block.title, size=12, gap=7 * mm)
        usable = self.width - 2 * MARGIN
        widths = [max(self.c.stringWidth(v, self.font, 8.5) for v in [col, *(r[i] for r in block.rows)]) + 4 * mm
                  for i, col in enumerate(block.columns)]
        scale = min(1.0, usable / sum(widths))
        widths = [w * scale for w in widths]

        def row(values: list[str], colour: Any) -> None:
            self._ensure(LINE_PT)
            x = MARGIN
            self.c.setFont(self.font, 8.5)
            self.c.setFillColor(colour)
            for value, w in zip(values, widths, strict=True):
                text = value
                while text and self.c.stringWidth(text, self.font, 8.5) > w - 2 * mm:
                    text = text[:-1]
                self.c.drawString(x, self.y - 7, text)
                x += w
            self.y -= LINE_PT

        row(block.columns, colors.HexColor("#555555"))
        for values in block.rows:
            row(values, colors.black)
        if not block.rows:
            row([self.labels.text("summary.none")] + [""] * (len(block.columns) - 1), colors.black)
        self.y -= 5 * mm

    # -- violation pages ------------------------------------------------------------------
    def _when(self, moment: datetime, with_date: bool = True) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")

    def _span(self, start: datetime, end: datetime | None) -> str:
        if end is None:
            return self._when(start)
        same_day = start.astimezone(self.tz).date() == end.astimezone(self.tz).date()
        return f"{self._when(start)} – {self._when(end, with_date=not same_day)}"

    def _thresholds(self, ev: AlertEvidence) -> str:
        L = self.labels
        parts = [f"{L.threshold(name)} {L.figure(name, value)}" for name, value in ev.thresholds.items()]
        return L.joined(parts, strong=True) or L.text("summary.none")

    def _evidence(self, ev: AlertEvidence) -> str:
        """The alert's evidence figures that mean something to a reader, labelled."""
        L, e = self.labels, ev.evidence
        parts = []
        for name in ("uncovered_s", "night_s", "duration_s", "silent_s", "max_speed_kmh", "limit_kmh",
                     "driven_km", "planned_km"):
            if isinstance(e.get(name), int | float):
                parts.append(f"{L.text('ev.' + name)} {L.figure(name, e[name])}")
        if e.get("reason"):
            parts.append(f"{L.text('ev.reason')} {L.value('reason', e['reason'])}")
        if e.get("request_id"):
            parts.append(f"{L.text('ev.request_id')} #{e['request_id']}")
        zones = [z.get("name", "") for z in e.get("zones") or [] if isinstance(z, dict)]
        if zones:
            parts.append(f"{L.text('ev.zones')} {L.joined(zones)}")
        site = e.get("designated_site")
        if isinstance(site, dict) and site.get("name"):
            parts.append(f"{L.text('ev.designated_site')} {site['name']}")
        if "position_count" in e:
            parts.append(f"{L.text('ev.positions')} {e['position_count']}"
                         + L.aside(f"#{e.get('first_position_id')}–#{e.get('last_position_id')}"))
        return L.joined(parts, strong=True) or L.text("summary.none")

    def _stops(self, ev: AlertEvidence) -> str:
        L = self.labels
        parts = [f"{L.text('map.stop', n=i)} {self._span(s.started_at, s.ended_at)}"
                 + L.aside(L.duration((s.ended_at - s.started_at).total_seconds()))
                 for i, s in enumerate(ev.stops, start=1)]
        return L.joined(parts, strong=True) or L.text("v.no_stops")

    def violation(self, ev: AlertEvidence, number: int) -> None:
        """The facts in two columns, the thresholds, stops and orders, then the map."""
        L, c = self.labels, self.c
        self._new_page()
        self.line(L.text("v.heading", n=number, id=ev.alert_id), size=14, gap=8 * mm)
        self.line(f"{L.value('kind', ev.kind)} · {ev.plate}", size=12, colour=colors.HexColor("#c0392b"),
                  gap=7 * mm)
        half = (self.width - 2 * MARGIN) / 2 - 3 * mm
        end = ev.ended_at or ev.started_at
        left = [
            (L.text("v.rule"), L.value("kind", ev.kind)),
            (L.text("v.severity"), L.value("severity", ev.severity)),
            (L.text("v.rule_version"), ev.rule_version or L.text("summary.none")),
            (L.text("v.span"), self._span(ev.started_at, ev.ended_at)),
            (L.text("v.duration"), L.duration((end - ev.started_at).total_seconds())),
            (L.text("v.distance"), f"{ev.distance_km:.1f} {L.text('unit.km')}"),
            (L.text("v.car"), L.joined([ev.plate, L.value("class", ev.vehicle_class), L.value("energy", ev.energy),
                                         L.value("ownership", ev.ownership)])),
            (L.text("v.owner"), ev.owner),
            (L.text("v.driver"), L.joined(ev.drivers) or L.text("v.no_driver")),
        ]
        d = ev.decision
        right = [
            (L.text("v.reviewer"), (d.reviewer if d else None) or L.text("summary.none")),
            (L.text("v.decision"), L.value("state", d.state) if d else L.text("summary.none")),
            (L.text("v.reason"), (d.reason if d else None) or L.text("v.no_reason")),
            (L.text("v.decided_at"), self._when(d.at) if d else L.text("summary.none")),
            (L.text("v.evidence"), self._evidence(ev)),
        ]
        top, ends = self.y, []
        for column, x in ((left, MARGIN), (right, MARGIN + half + 6 * mm)):
            self.y = top
            for label, value in column:
                self.y -= self.field(label, value, x, half)
            ends.append(self.y)
        self.y = min(ends) - 1.5 * mm
        full = self.width - 2 * MARGIN
        self.y -= self.field(L.text("v.thresholds"), self._thresholds(ev), MARGIN, full)
        self.y -= self.field(L.text("v.stops"), self._stops(ev), MARGIN, full)
        orders = [L.joined([f"{self._span(o.pickup, o.dropoff)}", o.agency, o.purpose, o.route,
                            f"{L.value('assignment', o.kind)}/{L.value('request', o.state)}",
                            o.driver or L.text("v.no_driver")]) for o in ev.orders[:MAX_ORDERS]]
        if len(ev.orders) > MAX_ORDERS:
            orders.append(L.text("v.more_orders", n=len(ev.orders) - MAX_ORDERS))
        self.y -= self.field(L.text("v.orders"), "\n".join(orders) or L.text("v.no_orders"), MARGIN, full)
        c.setFont(self.font, 7.5)
        c.setFillColor(colors.HexColor("#555555"))
        c.drawString(MARGIN, self.y - 7, L.text("v.time_zone", tz=self.tz.key))
        self.y -= 5 * mm
        map_h = max(self.y - MARGIN - LEGEND_H, MIN_MAP_H)
        EvidenceMap(c, L, self.tz, self.font).draw(ev, MARGIN, self.y - map_h, full, map_h)
        self.y = MARGIN
