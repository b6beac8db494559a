"""Incidents: the alerts of one drive or one stop, shown, exported and reviewed as one.

A drive both off hours and without an order raises ``private_use.off_hours`` and
``private_use.no_order`` for the same trip; a stop may be both overnight off the site and in a
forbidden venue. Each kind stays an alert row of its own (the API filters by kind), and the
alerts that share a trip or a stop (``evidence["trip_id"]`` / ``["stop_id"]``) carry the
lowest of their ids as ``incident_id``; an alert alone has none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlmodel import Session, col, or_, select

from fleet.models import Alert, AlertPublic

#: The evidence keys that tie an alert to what it was raised on, in order of precedence.
LINKS = ("trip_id", "stop_id")


def _anchor(alert: Alert) -> tuple[str, int] | None:
    for link in LINKS:
        value = (alert.evidence or {}).get(link)
        if isinstance(value, int):
            return link, value
    return None


def link_incidents(alerts: Iterable[Alert]) -> list[Alert]:
    """Set ``incident_id`` on stored ``alerts`` (ids assigned) of one vehicle; returns those
    whose incident changed."""
    groups: dict[tuple[str, int], list[Alert]] = defaultdict(list)
    alone: list[Alert] = []
    for alert in alerts:
        anchor = _anchor(alert)
        (groups[anchor] if anchor else alone).append(alert)
    changed = []
    for group in list(groups.values()) + [[a] for a in alone]:
        incident = min(a.id or 0 for a in group) if len(group) > 1 else None
        for alert in group:
            if alert.incident_id != incident:
                alert.incident_id = incident
                changed.append(alert)
    return changed


def incident_of(alert: Alert) -> int:
    """The id that names ``alert``'s incident (its own id when alone)."""
    return alert.incident_id or alert.id or 0


def incident_alerts(session: Session, alert: Alert) -> list[Alert]:
    """Every alert of ``alert``'s incident, ``alert`` included, by id."""
    if alert.incident_id is None:
        return [alert]
    return list(session.exec(select(Alert).where(Alert.incident_id == alert.incident_id).order_by(col(Alert.id))))


def kinds_by_incident(session: Session, alerts: list[Alert]) -> dict[int, list[str]]:
    """Incident id -> the kinds of its alerts (sorted), for the incidents of ``alerts``."""
    kinds: dict[int, set[str]] = {incident_of(a): {a.kind} for a in alerts}
    linked = [a.incident_id for a in alerts if a.incident_id is not None]
    if linked:
        for other in session.exec(select(Alert).where(col(Alert.incident_id).in_(linked))):
            kinds[incident_of(other)].add(other.kind)
    return {incident: sorted(names) for incident, names in kinds.items()}


def public_alerts(session: Session, alerts: list[Alert]) -> list[AlertPublic]:
    """``alerts`` as the API shows them, each with the kinds of its incident."""
    kinds = kinds_by_incident(session, alerts)
    return [AlertPublic.model_validate(a, update={"incident_kinds": kinds[incident_of(a)]}) for a in alerts]


def primaries():  # type: ignore[no-untyped-def]
    """A condition for the alert that names each incident (and every alert alone)."""
    return or_(col(Alert.incident_id).is_(None), col(Alert.incident_id) == col(Alert.id))


def incidents_with_kind(kind: str):  # type: ignore[no-untyped-def]
    """A condition for incidents (by their naming alert) that hold an alert of ``kind``."""
    named = select(Alert.incident_id).where(Alert.kind == kind, col(Alert.incident_id).is_not(None))
    return or_(col(Alert.id).in_(named), (Alert.kind == kind) & col(Alert.incident_id).is_(None))
