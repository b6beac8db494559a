"""The run's KPI report: JSON figures, PNG plots (matplotlib) and an HTML page.

* service: requests filed, served by a pool car, by a leased car, refused (with reasons);
  on-time share (pool car at the pickup by ``pickup_latest``); waits (ride start minus
  ``pickup_earliest`` less boarding, minutes);
* fleet: pool utilisation (cars used / cars offered), loaded and empty km, NEV share of km;
* cost: pool vs lease (CNY, from the accepted plan's assignments);
* detection per alert kind: precision, recall and detection delay against the planted ground
  truth (an alert matches an incident of the same car that expects its kind and overlaps its
  span, widened by ``MATCH_SLACK_S``); delay is from the incident's ``observable_s`` to the
  simulated time the alert was first seen on ``fleet/v1/events/alerts``;
* ingest lag: wall seconds from publishing a message to its newest fix appearing on
  ``fleet/v1/events/positions`` (stored and evaluated).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fleet.alert_kinds import ALERT_KINDS
from simulations.agents import BOARDING_S
from simulations.runner import RunData, write_json

MATCH_SLACK_S = 900.0


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def service_figures(data: RunData) -> dict[str, Any]:
    plan = data.plan or {}
    assignments = plan.get("assignments", [])
    pool = [a for a in assignments if a["kind"] == "pool"]
    lease = [a for a in assignments if a["kind"] == "lease"]
    refused = plan.get("unserved", [])
    on_time = [s.arrived_s <= s.job.pickup_latest_s + 60 for s in data.served]
    waits = [max(0.0, (s.ride_start_s - BOARDING_S - s.job.pickup_earliest_s) / 60) for s in data.served]
    by_kind = Counter(spec.kind for spec in data.requests.values())
    return {
        "requests": len(data.requests), "by_kind": dict(by_kind),
        "served_pool": len(pool), "served_lease": len(lease), "refused": len(refused),
        "refused_reasons": dict(Counter(u["reason"] for u in refused)),
        "driven_pool_trips": len(data.served),
        "on_time_share": round(sum(on_time) / len(on_time), 3) if on_time else None,
        "wait_min_p50": _pct(waits, 50), "wait_min_p95": _pct(waits, 95),
    }


def fleet_figures(data: RunData) -> dict[str, Any]:
    pool_cars = [vid for vid, c in data.cars.items() if c["ownership"] == "pool"]
    used: set[int | None] = set()
    loaded_km = empty_km = nev_km = 0.0
    assignment_car = {a["id"]: a.get("vehicle_id") for a in (data.plan or {}).get("assignments", [])}
    for s in data.served:
        vid = assignment_car.get(s.job.assignment_id)
        used.add(vid)
        km = (s.loaded_m + s.empty_m) / 1000
        loaded_km += s.loaded_m / 1000
        empty_km += s.empty_m / 1000
        if vid in data.cars and data.cars[vid]["energy"] in ("bev", "phev"):
            nev_km += km
    total = loaded_km + empty_km
    return {
        "pool_cars": len(pool_cars), "pool_cars_used": len(used),
        "utilisation": round(len(used) / len(pool_cars), 3) if pool_cars else None,
        "platform_figures": data.figures,
        "loaded_km": round(loaded_km, 1), "empty_km": round(empty_km, 1),
        "empty_share": round(empty_km / total, 3) if total else None,
        "nev_km_share": round(nev_km / total, 3) if total else None,
    }


def cost_figures(data: RunData) -> dict[str, Any]:
    assignments = (data.plan or {}).get("assignments", [])
    pool = sum(a["cost_cny"] for a in assignments if a["kind"] == "pool")
    lease = sum(a["cost_cny"] for a in assignments if a["kind"] == "lease")
    return {"total_cny": (data.plan or {}).get("total_cost_cny"), "pool_cny": round(pool, 2),
            "lease_cny": round(lease, 2),
            "pool_cny_per_trip": round(pool / max(1, sum(a["kind"] == "pool" for a in assignments)), 2),
            "lease_cny_per_trip": round(lease / max(1, sum(a["kind"] == "lease" for a in assignments)), 2)}


def detection_figures(data: RunData) -> dict[str, Any]:
    """Precision, recall and delay per alert kind, and each incident's outcome."""
    results: dict[str, Any] = {}
    matched_incidents: dict[int, list[dict[str, Any]]] = {}
    for kind in ALERT_KINDS:
        alerts = [a for a in data.alerts if a["kind"] == kind]
        expected = [i for i, inc in enumerate(data.incidents) if kind in inc.kinds]
        required = [i for i in expected if not data.incidents[i].optional]
        true_alerts, found, delays = 0, set(), []
        for alert in alerts:
            a0 = _epoch(alert["started_at"])
            a1 = _epoch(alert["ended_at"]) if alert.get("ended_at") else a0
            hits = [i for i in expected if data.incidents[i].vehicle_id == alert["vehicle_id"]
                    and a0 <= data.incidents[i].end_s + MATCH_SLACK_S and a1 >= data.incidents[i].start_s - MATCH_SLACK_S]
            if not hits:
                continue
            true_alerts += 1
            for i in hits:
                matched_incidents.setdefault(i, []).append({"kind": kind, "alert_id": alert["id"]})
                if i not in found:
                    seen = data.alert_seen_s.get(alert["id"])
                    if seen is not None:
                        delays.append(seen - data.incidents[i].observable_s)
                found.add(i)
        results[kind] = {
            "alerts": len(alerts), "true_alerts": true_alerts, "false_alerts": len(alerts) - true_alerts,
            "incidents": len(required), "optional_incidents": len(expected) - len(required),
            "detected": len(found & set(required)),
            "precision": round(true_alerts / len(alerts), 3) if alerts else None,
            "recall": round(len(found & set(required)) / len(required), 3) if required else None,
            "delay_s_p50": _pct(delays, 50), "delay_s_max": round(max(delays), 1) if delays else None,
        }
    incidents = []
    for i, inc in enumerate(data.incidents):
        got = {m["kind"] for m in matched_incidents.get(i, [])}
        missed = [] if inc.optional else sorted(set(inc.kinds) - got)
        incidents.append(inc.as_json() | {"detected_kinds": sorted(got), "missed_kinds": missed})
    false_alerts = [
        {k: a[k] for k in ("id", "kind", "vehicle_id", "started_at", "ended_at", "evidence")}
        for a in data.alerts
        if a["kind"] in ALERT_KINDS and not any(
            m["alert_id"] == a["id"] for ms in matched_incidents.values() for m in ms)
    ]
    return {"per_kind": results, "incidents": incidents, "false_alerts": false_alerts[:200],
            "other_kinds": dict(Counter(a["kind"] for a in data.alerts if a["kind"] not in ALERT_KINDS))}


def build_report(data: RunData) -> dict[str, Any]:
    s = data.scenario
    start, end = s.window
    lags = data.lags_s
    return {
        "scenario": {"name": s.name, "day": s.day.isoformat(), "start": start.isoformat(), "end": end.isoformat(),
                     "cars": len(data.cars), "fix_interval_s": s.fix_interval_s,
                     "upload_interval_s": s.upload_interval_s, "speed": s.speed},
        "run": {"wall_s": round(data.wall_s, 1), "caught_up_s": round(data.caught_up_s, 1),
                "day_s": round(data.wall_s + data.caught_up_s, 1), "drain_s": round(data.drain_s, 1),
                "simulated_h": s.hours, "messages": data.messages, "fixes": data.fixes,
                "rejected_messages": data.rejected,
                "set_aside_fixes": data.set_aside, "notes": data.notes},
        "service": service_figures(data),
        "fleet": fleet_figures(data),
        "cost": cost_figures(data),
        "detection": detection_figures(data),
        "ingest_lag_s": {"samples": len(lags), "p50": _pct(lags, 50), "p95": _pct(lags, 95),
                         "max": round(max(lags), 3) if lags else None,
                         "simulation_outbound_max_messages": max((n for _, n in data.outbound), default=0),
                         "simulation_outbound_p95_messages": _pct([n for _, n in data.outbound], 95)},
    }


def _plots(data: RunData, report: dict[str, Any], out: Path) -> list[tuple[str, str]]:
    images: list[tuple[str, str]] = []
    tz = data.scenario.local_midnight.tzinfo
    # service by hour
    assignments = {a["request_id"]: a["kind"] for a in (data.plan or {}).get("assignments", [])}
    hours: dict[str, Counter] = {"pool": Counter(), "lease": Counter(), "refused": Counter()}
    for rid, spec in data.requests.items():
        hour = spec.pickup_earliest.astimezone(tz).hour
        hours[assignments.get(rid, "refused")][hour] += 1
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bottom = np.zeros(24)
    for label, colour in (("pool", "#2a7"), ("lease", "#e90"), ("refused", "#c33")):
        values = np.array([hours[label][h] for h in range(24)])
        ax.bar(range(24), values, bottom=bottom, color=colour, label=label)
        bottom += values
    ax.set_xlabel("local hour of pickup")
    ax.set_ylabel("requests")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "service_by_hour.png", dpi=90)
    plt.close(fig)
    images.append(("Requests by hour: pool, lease, refused", "service_by_hour.png"))
    # ingest lag over simulated time
    if data.lags_s:
        fig, (ax, queue) = plt.subplots(2, 1, figsize=(8, 4.4), sharex=True, height_ratios=(3, 1))
        at = [datetime.fromtimestamp(t, tz) for t in data.lag_at_s]
        ax.plot(at, data.lags_s, ",", alpha=0.4)
        ax.axhline(2.0, color="#c33", lw=1, label="target p95 2 s")
        ax.set_ylabel("ingest lag, s")
        ax.set_yscale("symlog", linthresh=1)
        ax.legend(loc="upper left")
        queue.plot([datetime.fromtimestamp(t, tz) for t, _ in data.outbound], [n for _, n in data.outbound],
                   color="#888", lw=0.6)
        queue.set_ylabel("unacknowledged\nmessages", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out / "ingest_lag.png", dpi=90)
        plt.close(fig)
        images.append(("Ingest lag (publish to stored and evaluated) over simulated time, beside the "
                       "simulation's own queue of messages the broker has not acknowledged", "ingest_lag.png"))
    # detection quality
    per_kind = report["detection"]["per_kind"]
    kinds = [k for k in per_kind if per_kind[k]["alerts"] or per_kind[k]["incidents"]]
    if kinds:
        fig, ax = plt.subplots(figsize=(8, 3.4))
        x = np.arange(len(kinds))
        ax.bar(x - 0.2, [per_kind[k]["precision"] or 0 for k in kinds], 0.4, label="precision")
        ax.bar(x + 0.2, [per_kind[k]["recall"] or 0 for k in kinds], 0.4, label="recall")
        ax.axhline(0.95, color="#c33", lw=1)
        ax.set_xticks(x, [k.split(".")[-1] for k in kinds], rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "detection.png", dpi=90)
        plt.close(fig)
        images.append(("Detection quality per alert kind (target 0.95)", "detection.png"))
    return images


def _table(rows: dict[str, Any]) -> str:
    cells = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows.items())
    return f"<table>{cells}</table>"


def write_report(data: RunData, out: Path) -> dict[str, Any]:
    """Write ``report.json``, the PNG plots and ``report.html`` into ``out``; return the figures."""
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(data)
    write_json(out / "report.json", report)
    images = _plots(data, report, out)
    per_kind = report["detection"]["per_kind"]
    header = "<tr><th>kind</th>" + "".join(f"<th>{h}</th>" for h in next(iter(per_kind.values()))) + "</tr>"
    kind_rows = "".join(
        f"<tr><td>{escape(k)}</td>" + "".join(f"<td>{escape(str(v))}</td>" for v in row.values()) + "</tr>"
        for k, row in per_kind.items())
    incident_rows = "".join(
        f"<tr><td>{escape(i['behaviour'])}</td><td>{escape(i['plate'])}</td><td>{escape(', '.join(i['kinds']))}</td>"
        f"<td>{escape(', '.join(i['missed_kinds']) or '-')}</td><td>{escape(i['note'])}</td></tr>"
        for i in report["detection"]["incidents"])
    sections = "".join(f"<h2>{escape(title)}</h2><img src='{name}' alt='{escape(title)}'>" for title, name in images)
    html = f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>City simulation: {escape(data.scenario.name)}</title>
<style>body{{font:14px sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}</style>
<h1>City simulation report: {escape(data.scenario.name)} ({escape(report['scenario']['day'])})</h1>
<h2>Run</h2>{_table(report['scenario'] | report['run'])}
<h2>Service</h2>{_table(report['service'])}
<h2>Fleet</h2>{_table(report['fleet'])}
<h2>Cost (CNY)</h2>{_table(report['cost'])}
<h2>Ingest lag (s)</h2>{_table(report['ingest_lag_s'])}
<h2>Detection per alert kind</h2><table>{header}{kind_rows}</table>
<h2>Planted incidents</h2><table><tr><th>behaviour</th><th>car</th><th>expected</th><th>missed</th><th>note</th></tr>{incident_rows}</table>
{sections}</html>"""
    (out / "report.html").write_text(html, encoding="utf-8")
    return report
