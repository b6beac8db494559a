"""The words of the inspector PDF in each language it is written in (zh, the default, and en):
one table of labels, the names of the stored enum values (alert kinds, states, car classes,
energies...), and the threshold names with their units. No raw key reaches a page: an unknown
value is shown through ``Labels.value`` as the label of its group's "other"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Language(StrEnum):
    """The language an export's PDF is written in."""

    zh = "zh"
    en = "en"


#: Every label of the PDF: key -> (zh, en). Enum values live under "<group>.<value>".
LABELS: dict[str, tuple[str, str]] = {
    "platform": ("公务用车管理平台", "Official-vehicle fleet platform"),
    "doc.title": ("公务用车违规证据", "Official-car violation evidence"),
    "doc.subject": ("公务用车合规导出：行程、告警处置与违规地图",
                    "Official-car compliance export: trips, alert dispositions and violation maps"),
    "doc.whole_platform": ("全平台", "whole platform"),
    "summary.title": ("公务用车合规导出", "Official-car compliance export"),
    "summary.org": ("单位", "Organisation"),
    "summary.vehicle": ("车辆", "Vehicle"),
    "summary.all_vehicles": ("单位全部车辆", "all cars of the organisation"),
    "summary.from": ("起始", "From"),
    "summary.until": ("截止（不含）", "Until (excluded)"),
    "summary.trips": ("行程数", "Trips"),
    "summary.distance": ("行驶里程", "Distance"),
    "summary.off_hours": ("非工作时间里程", "Off-hours distance"),
    "summary.positions": ("定位点数", "GPS positions"),
    "summary.by_state": ("告警（按处置状态）", "Alerts by state"),
    "summary.by_kind": ("告警（按类型）", "Alerts by kind"),
    "summary.violations": ("确认违规（逐条见后页）", "Confirmed violations (one page each)"),
    "summary.exported_by": ("导出人", "Exported by"),
    "summary.none": ("无", "none"),
    "summary.tz": ("时区", "Time zone"),
    "lease.title": ("各单位租赁车辆费用（前 {n} 名，元）", "Leased spend per agency (top {n}, CNY)"),
    "lease.agency": ("单位", "Agency"),
    "lease.code": ("代码", "Code"),
    "lease.trips": ("租车次数", "Trips"),
    "lease.spend": ("费用（元）", "Spend (CNY)"),
    "usage.title": ("行驶里程最多的车辆（前 {n} 名，公里）", "Distance per car (top {n}, km)"),
    "usage.plate": ("车牌", "Plate"),
    "usage.org": ("单位代码", "Org code"),
    "usage.trips": ("行程", "Trips"),
    "usage.km": ("里程（公里）", "Distance (km)"),
    "usage.off_hours_km": ("非工作时间（公里）", "Off hours (km)"),
    "v.heading": ("违规证据 第 {n} 条 · 告警 #{id}", "Violation evidence no. {n} · alert #{id}"),
    "v.rule": ("违规类型", "Rule"),
    "v.rule_version": ("规则版本", "Rules version"),
    "v.severity": ("严重程度", "Severity"),
    "v.thresholds": ("判定阈值", "Thresholds"),
    "v.span": ("起止时间", "Start - end"),
    "v.duration": ("持续时长", "Duration"),
    "v.distance": ("行驶里程", "Distance"),
    "v.car": ("车辆", "Car"),
    "v.owner": ("所属单位", "Owner agency"),
    "v.driver": ("当班驾驶员", "Driver on duty"),
    "v.no_driver": ("无记录", "none on record"),
    "v.orders": ("当日派车单", "Orders of the day"),
    "v.no_orders": ("当日无派车记录", "no orders on record that day"),
    "v.more_orders": ("另有 {n} 单（见 trips.csv）", "{n} more (see trips.csv)"),
    "v.stops": ("停留", "Stops"),
    "v.no_stops": ("无", "none"),
    "v.evidence": ("证据", "Evidence"),
    "v.review": ("审核", "Review"),
    "v.reviewer": ("审核人", "Reviewer"),
    "v.decision": ("结论", "Decision"),
    "v.reason": ("理由", "Reason"),
    "v.decided_at": ("审核时间", "Decided at"),
    "v.no_reason": ("未填写", "none given"),
    "v.time_zone": ("时间均为北京时间（{tz}）", "Times are local ({tz})"),
    "map.no_positions": ("该时段无定位记录", "no GPS positions recorded for this span"),
    "map.start": ("起", "start"),
    "map.end": ("止", "end"),
    "map.alert": ("告警位置", "alert"),
    "map.stop": ("停{n}", "S{n}"),
    "map.north": ("北", "N"),
    "map.site": ("定点停放点", "designated site"),
    "map.site_far": ("定点停放点「{name}」在图外，距告警位置 {km} 公里",
                     "designated site \"{name}\" lies off the map, {km} km from the alert"),
    "map.no_site": ("该车未设定点停放点", "the car has no designated parking site"),
    "map.track_alert": ("告警时段轨迹", "track during the alert"),
    "map.track_context": ("前后 {min} 分钟轨迹", "track {min} min before and after"),
    "map.forbidden": ("禁入场所", "forbidden venue"),
    "map.allowed": ("允许区域边界", "allowed-area boundary"),
    "unit.km": ("公里", "km"),
    "unit.m": ("米", "m"),
    "unit.min": ("分钟", "min"),
    "unit.h": ("小时", "h"),
    "unit.s": ("秒", "s"),
    "unit.kmh": ("公里/小时", "km/h"),
    "unit.cny": ("元", "CNY"),
    "unit.share": ("倍", "x"),
    "unit.points": ("个定位点", "positions"),
    # alert kinds (fleet.alert_kinds) and other stored values
    "kind.private_use.no_order": ("无单出车", "Trip without an order"),
    "kind.private_use.off_hours": ("非工作时间用车", "Off-hours use"),
    "kind.private_use.out_of_area": ("驶出允许区域", "Out of the allowed area"),
    "kind.private_use.route_deviation": ("偏离派车路线", "Route deviation"),
    "kind.parking.off_site_overnight": ("夜间未定点停放", "Parked off site overnight"),
    "kind.parking.forbidden_zone": ("违规场所停放", "Parked at a forbidden venue"),
    "kind.device.offline": ("设备离线", "Device offline"),
    "kind.speeding": ("超速", "Speeding"),
    "kind.expense.mismatch": ("费用与轨迹不符", "Expense does not match the track"),
    "kind.other": ("其他告警", "Other alert"),
    "state.open": ("待处理", "Open"),
    "state.under_review": ("核查中", "Under review"),
    "state.confirmed": ("确认违规", "Confirmed"),
    "state.justified": ("可解释", "Justified"),
    "state.false_positive": ("误报", "False positive"),
    "state.other": ("其他", "Other"),
    "severity.info": ("提示", "Info"),
    "severity.warning": ("警告", "Warning"),
    "severity.critical": ("严重", "Critical"),
    "severity.other": ("其他", "Other"),
    "class.sedan": ("轿车", "sedan"),
    "class.mpv": ("商务车", "MPV"),
    "class.suv": ("越野车", "SUV"),
    "class.minibus": ("中巴", "minibus"),
    "class.bus": ("大巴", "bus"),
    "class.special": ("专用车", "special vehicle"),
    "class.other": ("其他车型", "other class"),
    "energy.petrol": ("汽油", "petrol"),
    "energy.diesel": ("柴油", "diesel"),
    "energy.hev": ("油电混合", "hybrid"),
    "energy.phev": ("插电混动", "plug-in hybrid"),
    "energy.bev": ("纯电动", "battery electric"),
    "energy.other": ("其他能源", "other energy"),
    "ownership.pool": ("公车平台", "pool car"),
    "ownership.leased": ("社会化租赁", "leased car"),
    "ownership.other": ("其他", "other"),
    "assignment.pool": ("公车", "pool"),
    "assignment.lease": ("租赁", "lease"),
    "assignment.other": ("其他", "other"),
    "request.draft": ("草稿", "draft"),
    "request.submitted": ("待审批", "submitted"),
    "request.approved": ("已批准", "approved"),
    "request.planned": ("已编排", "planned"),
    "request.assigned": ("已派车", "assigned"),
    "request.in_progress": ("进行中", "in progress"),
    "request.completed": ("已完成", "completed"),
    "request.cancelled": ("已取消", "cancelled"),
    "request.rejected": ("已驳回", "rejected"),
    "request.other": ("其他", "other"),
    "reason.outside_corridor": ("驶出路线走廊", "left the route corridor"),
    "reason.excess_distance": ("里程超出计划", "drove beyond the planned distance"),
    "reason.other": ("其他", "other"),
    # evidence fields (Alert.evidence) worth a line
    "ev.uncovered_s": ("无派车单覆盖时长", "Time not covered by an order"),
    "ev.distance_km": ("行驶里程", "Distance"),
    "ev.night_s": ("夜间停放时长", "Parked at night"),
    "ev.duration_s": ("持续时长", "Duration"),
    "ev.silent_s": ("静默时长", "Silent for"),
    "ev.max_speed_kmh": ("最高车速", "Top speed"),
    "ev.limit_kmh": ("限速", "Speed limit"),
    "ev.driven_km": ("实际里程", "Driven"),
    "ev.planned_km": ("计划里程", "Planned"),
    "ev.request_id": ("对应用车申请", "Trip request"),
    "ev.reason": ("偏离方式", "How"),
    "ev.zones": ("所在禁入场所", "Forbidden venue"),
    "ev.designated_site": ("定点停放点", "Designated site"),
    "ev.positions": ("定位点", "Positions"),
    # thresholds (Alert.thresholds): label and unit kind (s, m, share, tod)
    "th.order_grace_before_s": ("派车前宽限", "Grace before an order"),
    "th.order_grace_after_s": ("派车后宽限", "Grace after an order"),
    "th.order_match_radius_m": ("上下车点匹配半径", "Pickup match radius"),
    "th.order_overrun_max_s": ("派车单最长超时", "Longest order overrun"),
    "th.private_use_min_s": ("私用最短时长", "Shortest private use"),
    "th.stop_radius_m": ("停留半径", "Stop radius"),
    "th.stop_min_duration_s": ("停留最短时长", "Shortest stop"),
    "th.work_start_s": ("上班时间", "Work starts"),
    "th.work_end_s": ("下班时间", "Work ends"),
    "th.out_of_area_min_s": ("驶出区域最短时长", "Shortest time out of area"),
    "th.route_corridor_m": ("路线走廊宽度", "Route corridor"),
    "th.route_deviation_min_s": ("偏离最短时长", "Shortest deviation"),
    "th.route_excess_share": ("超出里程比例", "Excess distance share"),
    "th.route_excess_min_m": ("超出里程下限", "Least excess distance"),
    "th.route_detour_factor": ("绕行系数", "Detour factor"),
    "th.night_start_s": ("夜间开始", "Night starts"),
    "th.night_end_s": ("夜间结束", "Night ends"),
    "th.overnight_min_s": ("夜间停放最短时长", "Shortest night stop"),
    "th.site_tolerance_m": ("定点停放容差", "Site tolerance"),
    "th.forbidden_stop_min_s": ("禁入场所停留最短时长", "Shortest stop at a venue"),
    "th.speed_limit_kmh": ("限速", "Speed limit"),
    "th.speeding_min_s": ("超速最短时长", "Shortest speeding"),
    "th.offline_after_s": ("离线判定时长", "Offline after"),
}

#: Groups whose values ``Labels.value`` names (each has an "other" entry).
VALUE_GROUPS = ("kind", "state", "severity", "class", "energy", "ownership", "assignment", "request", "reason")


def _unit_of(name: str) -> str:
    """How a threshold or evidence figure is shown, from its name's unit suffix."""
    if name in ("work_start_s", "work_end_s", "night_start_s", "night_end_s"):
        return "tod"
    for suffix in ("_kmh", "_km", "_s", "_m", "_share", "_factor"):
        if name.endswith(suffix):
            return suffix[1:]
    return ""


@dataclass(frozen=True)
class Labels:
    """The labels in one language; ``text`` fills ``{placeholders}``."""

    language: Language

    def text(self, key: str, **values: Any) -> str:
        zh, en = LABELS[key]
        chosen = zh if self.language == Language.zh else en
        return chosen.format(**values) if values else chosen

    def value(self, group: str, value: Any) -> str:
        """The name of a stored value (``group`` one of VALUE_GROUPS), never the raw value."""
        raw = getattr(value, "value", value)
        key = f"{group}.{raw}"
        return self.text(key if key in LABELS else f"{group}.other")

    def colon(self, label: str, value: str) -> str:
        """``label: value`` with the language's colon."""
        return f"{label}：{value}" if self.language == Language.zh else f"{label}: {value}"

    def aside(self, text: str) -> str:
        """``text`` in the language's parentheses (full-width in Chinese)."""
        return f"（{text}）" if self.language == Language.zh else f" ({text})"

    def joined(self, items: list[str], strong: bool = False) -> str:
        """Items as a list (``strong``: separate clauses rather than names)."""
        if self.language == Language.zh:
            return ("；" if strong else "、").join(items)
        return ("; " if strong else ", ").join(items)

    def duration(self, seconds: float) -> str:
        """A duration, as hours and minutes (or minutes and seconds when short)."""
        total = int(round(seconds))
        hours, rest = divmod(total, 3600)
        minutes, secs = divmod(rest, 60)
        h, m, s = self.text("unit.h"), self.text("unit.min"), self.text("unit.s")
        if hours:
            return f"{hours} {h} {minutes} {m}" if minutes else f"{hours} {h}"
        return f"{minutes} {m} {secs} {s}" if minutes and secs and minutes < 10 else (
            f"{minutes} {m}" if minutes else f"{secs} {s}")

    def figure(self, name: str, value: Any) -> str:
        """A threshold or evidence figure with its unit, from the unit suffix of ``name``."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return str(value)
        unit = _unit_of(name)
        if unit == "tod":
            minutes = int(round(value / 60))
            return f"{minutes // 60:02d}:{minutes % 60:02d}"
        if unit == "s":
            return self.duration(value)
        if unit == "m":
            return f"{value:g} {self.text('unit.m')}"
        if unit == "km":
            return f"{value:.1f} {self.text('unit.km')}"
        if unit == "kmh":
            return f"{value:g} {self.text('unit.kmh')}"
        if unit == "share":
            return f"{value * 100:g} %"
        return f"{value:g}"

    def threshold(self, name: str) -> str:
        """The label of a threshold (its name is shown as it is only when unknown)."""
        key = f"th.{name}"
        return self.text(key) if key in LABELS else name
