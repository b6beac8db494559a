"""The dispatch slip (派车单) as a one-page A4 PDF, in Chinese (the default) or English, laid
out like the paper form: a ruled table of labelled boxes (request, route and times, car and
driver, mileage and cost, approval and dispatch), the GPS track drawn small, and lines for the
signatures. A figure not known yet shows "—". The embedded CJK font is the inspectors'
export's subset (``evidence_font``); stored values are named through ``evidence_labels``.
The document info carries the title (slip and assignment number), the author (the platform
and the reader who printed it) and the subject."""

from __future__ import annotations

import io
from datetime import datetime
from math import cos, radians
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

import fleet
from fleet.compliance.dispatch_slip import DispatchSlip
from fleet.compliance.evidence_font import EvidenceFontError, register_cjk_font
from fleet.compliance.evidence_labels import Labels, Language
from fleet.compliance.export_pdf import MARGIN, READER_FONT

#: Shown for a figure not known (yet).
EMPTY = "—"
ROW_H = 8.5 * mm
LABEL_W = 30 * mm
TRACK_H = 55 * mm
#: Height kept below the track for the signature lines, points.
SIGNATURE_H = 22 * mm
FONT_PT = 9.5

#: The slip's own words: key -> (zh, en).
SLIP_LABELS: dict[str, tuple[str, str]] = {
    "title": ("公务用车派车单", "Official-car dispatch slip"),
    "subject": ("派车单：用车单位、事由、路线、时间、里程、车辆、驾驶员与费用",
                "Dispatch slip: agency, purpose, route, times, mileage, car, driver and cost"),
    "number": ("派车单号 {id} · 用车申请 {request}", "Slip no. {id} · trip request {request}"),
    "state": ("状态", "Status"),
    "sec.request": ("用车信息", "Request"),
    "sec.route": ("路线与时间", "Route and times"),
    "sec.car": ("车辆与驾驶员", "Car and driver"),
    "sec.mileage": ("里程与费用", "Mileage and cost"),
    "sec.approval": ("审批与调度", "Approval and dispatch"),
    "sec.track": ("GPS 行驶轨迹", "Route driven (GPS)"),
    "agency": ("用车单位", "Agency"),
    "requester": ("申请人", "Requester"),
    "rider": ("用车人", "Rider"),
    "purpose": ("用车事由", "Purpose"),
    "passengers": ("乘车人数", "Passengers"),
    "route": ("行程", "Route"),
    "origin": ("出发地", "From"),
    "destination": ("目的地", "To"),
    "departure_place": ("出车地点", "Car sets out from"),
    "wait_and_return": ("等候返程", "Waits and returns"),
    "planned_departure": ("计划出车", "Planned departure"),
    "planned_return": ("计划返回", "Planned return"),
    "arrived_at": ("到达上车点", "At the pickup"),
    "actual_departure": ("实际出车", "Actual departure"),
    "actual_return": ("实际返回", "Actual return"),
    "driver": ("驾驶员", "Driver"),
    "plate": ("车牌号", "Plate"),
    "car": ("车型 / 能源", "Class / energy"),
    "ownership": ("车辆来源", "Car from"),
    "lessor": ("租赁公司", "Lessor"),
    "start_odometer": ("出车里程表", "Odometer out"),
    "end_odometer": ("返回里程表", "Odometer in"),
    "odometer_distance": ("里程表行驶", "By odometer"),
    "gps_distance": ("GPS 里程", "By GPS"),
    "tolls": ("过路费", "Tolls"),
    "parking": ("停车费", "Parking"),
    "cost": ("派车费用", "Cost"),
    "approver": ("审批人", "Approved by"),
    "dispatcher": ("调度员", "Dispatched by"),
    "problems": ("行程问题", "Problems reported"),
    "track.none": ("无 GPS 行程记录", "no GPS trip on record"),
    "track.summary": ("{trips} 段行程，{km} 公里，{points} 个定位点",
                      "{trips} trips, {km} km, {points} positions"),
    "sign.driver": ("驾驶员签字", "Driver's signature"),
    "sign.rider": ("用车人签字", "Rider's signature"),
    "issued": ("打印时间 {at}（北京时间，{tz}）；由 {by} 打印", "Printed {at} (local time, {tz}) by {by}"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "km": ("公里", "km"),
    "cny": ("元", "CNY"),
    "persons": ("人", ""),
}


class SlipLabels(Labels):
    """The evidence labels (stored values) plus the slip's own words."""

    def slip(self, key: str, **values: object) -> str:
        zh, en = SLIP_LABELS[key]
        chosen = zh if self.language == Language.zh else en
        return chosen.format(**values) if values else chosen


def slip_rows(slip: DispatchSlip, labels: SlipLabels, tz: ZoneInfo) -> list[tuple[str, list[tuple[str, str]]]]:
    """The sections of the form, each a list of (label, value) boxes; empty values as EMPTY."""
    L = labels

    def when(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else EMPTY

    def km(value: float | None) -> str:
        return f"{value:,.1f} {L.slip('km')}" if value is not None else EMPTY

    def cny(value: float | None) -> str:
        return f"{value:,.2f} {L.slip('cny')}" if value is not None else EMPTY

    car = slip.car
    car_kind = [L.value("class", car.vehicle_class) if car.vehicle_class else "",
                L.value("energy", car.energy) if car.energy else ""]
    return [
        (L.slip("sec.request"), [
            (L.slip("agency"), slip.agency or EMPTY),
            (L.slip("requester"), slip.requester or EMPTY),
            (L.slip("rider"), slip.rider or slip.requester or EMPTY),
            (L.slip("passengers"), f"{slip.passengers} {L.slip('persons')}".strip()),
            (L.slip("purpose"), slip.purpose),
        ]),
        (L.slip("sec.route"), [
            (L.slip("origin"), slip.origin_address or f"{slip.origin[0]:.5f}, {slip.origin[1]:.5f}"),
            (L.slip("destination"),
             slip.destination_address or f"{slip.destination[0]:.5f}, {slip.destination[1]:.5f}"),
            (L.slip("departure_place"), slip.departure_place or EMPTY),
            (L.slip("wait_and_return"), L.slip("yes") if slip.wait_and_return else L.slip("no")),
            (L.slip("planned_departure"), when(slip.planned_departure)),
            (L.slip("planned_return"), when(slip.planned_return)),
            (L.slip("actual_departure"), when(slip.actual_departure)),
            (L.slip("actual_return"), when(slip.actual_return)),
            (L.slip("arrived_at"), when(slip.arrived_at)),
        ]),
        (L.slip("sec.car"), [
            (L.slip("driver"), " ".join(p for p in (slip.driver, slip.driver_phone) if p) or EMPTY),
            (L.slip("plate"), car.plate or EMPTY),
            (L.slip("car"), " / ".join(p for p in car_kind if p) or EMPTY),
            (L.slip("ownership"), L.value("ownership", car.ownership) if car.ownership else EMPTY),
            (L.slip("lessor"), " ".join(p for p in (car.lessor, car.lessor_phone) if p) or EMPTY),
        ]),
        (L.slip("sec.mileage"), [
            (L.slip("start_odometer"), km(slip.start_odometer_km)),
            (L.slip("end_odometer"), km(slip.end_odometer_km)),
            (L.slip("odometer_distance"), km(slip.odometer_distance_km)),
            (L.slip("gps_distance"), km(slip.gps_distance_km)),
            (L.slip("tolls"), cny(slip.tolls_cny)),
            (L.slip("parking"), cny(slip.parking_cny)),
            (L.slip("cost"), cny(slip.cost_cny)),
        ]),
        (L.slip("sec.approval"), [
            (L.slip("approver"), f"{slip.approver.name} {when(slip.approver.at)}" if slip.approver else EMPTY),
            (L.slip("dispatcher"),
             f"{slip.dispatcher.name} {when(slip.dispatcher.at)}" if slip.dispatcher else EMPTY),
            (L.slip("problems"), L.joined([p for p in slip.problems if p], strong=True) or EMPTY),
        ]),
    ]


def slip_title(slip: DispatchSlip, labels: SlipLabels) -> str:
    """The document title: the form's name and its number."""
    return f"{labels.slip('title')} {labels.slip('number', id=slip.assignment_id, request=slip.request_id)}"


def render_slip_pdf(slip: DispatchSlip, tz: ZoneInfo, printed_by: str,
                    language: Language = Language.zh) -> bytes:
    """The slip as PDF bytes. Raises ``EvidenceFontError`` for a Chinese slip when no CJK
    font is installed (an English one falls back to the readers' CID font)."""
    labels = SlipLabels(Language(language))
    sections = slip_rows(slip, labels, tz)
    issued = labels.slip("issued", at=slip.issued_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), tz=tz.key,
                         by=printed_by)
    track_line = (labels.slip("track.summary", trips=len(slip.route.trips), km=f"{slip.route.distance_km:.1f}",
                              points=slip.route.positions) if slip.route and slip.route.trips
                  else labels.slip("track.none"))
    state = labels.value("request", slip.request_state)
    texts = [slip_title(slip, labels), labels.slip("subject"), issued, track_line, state,
             *(zh if labels.language == Language.zh else en for zh, en in SLIP_LABELS.values()),
             *(t for _, rows in sections for pair in rows for t in pair), *(title for title, _ in sections)]
    font = _font(texts, labels.language)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=False, pageCompression=1)
    canvas.setTitle(slip_title(slip, labels))
    canvas.setAuthor(f"{labels.text('platform')} · {printed_by}")
    canvas.setSubject(labels.slip("subject"))
    canvas.setCreator(f"{labels.text('platform')} {fleet.__version__}")
    _SlipPage(canvas, font, labels).draw(slip, sections, state, track_line, issued)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _font(texts: list[str], language: Language) -> str:
    try:
        return register_cjk_font(texts)
    except EvidenceFontError:
        if language == Language.zh:
            raise
    if READER_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(READER_FONT))
    return READER_FONT


class _SlipPage:
    """The drawing of the one page, top to bottom."""

    def __init__(self, canvas: Canvas, font: str, labels: SlipLabels) -> None:
        self.c = canvas
        self.font = font
        self.labels = labels
        self.width, self.height = A4
        self.y = self.height - MARGIN

    def _fit(self, text: str, width: float, size: float) -> tuple[str, float]:
        """``text`` at ``size`` points, shrunk (to 7 pt) then cut with … to fit ``width``."""
        while size > 7 and self.c.stringWidth(text, self.font, size) > width:
            size -= 0.5
        while text and self.c.stringWidth(text, self.font, size) > width:
            text = text[:-2] + "…"
        return text, size

    def draw(self, slip: DispatchSlip, sections: list[tuple[str, list[tuple[str, str]]]], state: str,
             track_line: str, issued: str) -> None:
        c, L = self.c, self.labels
        c.setFont(self.font, 18)
        c.drawCentredString(self.width / 2, self.y - 16, L.slip("title"))
        self.y -= 11 * mm
        c.setFont(self.font, 9)
        c.drawString(MARGIN, self.y - 8, L.slip("number", id=slip.assignment_id, request=slip.request_id))
        c.drawRightString(self.width - MARGIN, self.y - 8, L.colon(L.slip("state"), state))
        self.y -= 6 * mm
        for title, rows in sections:
            self._section(title, rows)
        self._track(slip, track_line)
        self._signatures()
        c.setFont(self.font, 7.5)
        c.setFillColor(colors.HexColor("#555555"))
        c.drawString(MARGIN, MARGIN - 4 * mm, issued)
        c.setFillColor(colors.black)

    def _section(self, title: str, rows: list[tuple[str, str]]) -> None:
        """A section heading bar, then its boxes two to a row (a long value spans the row)."""
        c = self.c
        full = self.width - 2 * MARGIN
        c.setFillColor(colors.HexColor("#e8edf3"))
        c.rect(MARGIN, self.y - 6 * mm, full, 6 * mm, stroke=1, fill=1)
        c.setFillColor(colors.black)
        c.setFont(self.font, 10)
        c.drawString(MARGIN + 2 * mm, self.y - 4.3 * mm, title)
        self.y -= 6 * mm
        half = full / 2
        pending: list[tuple[str, str]] = []
        for label, value in rows:
            wide = c.stringWidth(value, self.font, FONT_PT) > half - LABEL_W - 4 * mm
            if wide:
                if pending:
                    self._row(pending, half)
                    pending = []
                self._row([(label, value)], full)
                continue
            pending.append((label, value))
            if len(pending) == 2:
                self._row(pending, half)
                pending = []
        if pending:
            self._row(pending + [("", "")], half)
        self.y -= 2 * mm

    def _row(self, boxes: list[tuple[str, str]], width: float) -> None:
        c = self.c
        x = MARGIN
        for label, value in boxes:
            c.rect(x, self.y - ROW_H, LABEL_W, ROW_H, stroke=1, fill=0)
            c.rect(x + LABEL_W, self.y - ROW_H, width - LABEL_W, ROW_H, stroke=1, fill=0)
            c.setFillColor(colors.HexColor("#444444"))
            text, size = self._fit(label, LABEL_W - 3 * mm, 8.5)
            c.setFont(self.font, size)
            c.drawString(x + 1.5 * mm, self.y - ROW_H / 2 - 3, text)
            c.setFillColor(colors.black)
            text, size = self._fit(value, width - LABEL_W - 3 * mm, FONT_PT)
            c.setFont(self.font, size)
            c.drawString(x + LABEL_W + 1.5 * mm, self.y - ROW_H / 2 - 3, text)
            x += width
        self.y -= ROW_H

    def _track(self, slip: DispatchSlip, track_line: str) -> None:
        """The GPS track in a box, north up at one scale, with its summary line."""
        c = self.c
        full = self.width - 2 * MARGIN
        self._section(self.labels.slip("sec.track"), [(self.labels.slip("route"), track_line)])
        self.y += 2 * mm
        room = self.y - MARGIN - SIGNATURE_H  # the signatures and the footer stay on the page
        box_h = min(TRACK_H, room) if slip.route and len(slip.route.track) > 1 and room > 20 * mm else 0
        if box_h:
            c.rect(MARGIN, self.y - box_h, full, box_h, stroke=1, fill=0)
            points = slip.route.track  # type: ignore[union-attr]
            lats, lons = [p[0] for p in points], [p[1] for p in points]
            kx = cos(radians(sum(lats) / len(lats)))
            span_x = max((max(lons) - min(lons)) * kx, 1e-4)
            span_y = max(max(lats) - min(lats), 1e-4)
            scale = min((full - 10 * mm) / span_x, (box_h - 10 * mm) / span_y)
            cx, cy = (max(lons) + min(lons)) / 2, (max(lats) + min(lats)) / 2
            mid_x, mid_y = MARGIN + full / 2, self.y - box_h / 2
            xy = [(mid_x + (lon - cx) * kx * scale, mid_y + (lat - cy) * scale) for lat, lon in points]
            c.setStrokeColor(colors.HexColor("#1f5fbf"))
            c.setLineWidth(1.4)
            path = c.beginPath()
            path.moveTo(*xy[0])
            for point in xy[1:]:
                path.lineTo(*point)
            c.drawPath(path, stroke=1, fill=0)
            c.setFillColor(colors.HexColor("#2e7d32"))
            c.circle(*xy[0], 2.2, stroke=0, fill=1)
            c.setFillColor(colors.HexColor("#c0392b"))
            c.circle(*xy[-1], 2.2, stroke=0, fill=1)
            c.setFillColor(colors.black)
            c.setStrokeColor(colors.black)
            c.setLineWidth(1)
        self.y -= box_h + 4 * mm

    def _signatures(self) -> None:
        c, L = self.c, self.labels
        half = (self.width - 2 * MARGIN) / 2
        c.setFont(self.font, 9.5)
        for i, key in enumerate(("sign.driver", "sign.rider")):
            x = MARGIN + i * half
            c.drawString(x, self.y - 10 * mm, L.colon(L.slip(key), ""))
            c.line(x + 28 * mm, self.y - 10.5 * mm, x + half - 8 * mm, self.y - 10.5 * mm)
        self.y -= 14 * mm
