"""Plan change events: the ``fleet/v1/events/plans`` message published after a dispatch
plan is made, accepted or given an urgent request (the caller commits first)."""

from __future__ import annotations

import logging
from typing import Any

from fleet import topics
from fleet.broker import EventPublisher
from fleet.models.dispatch_plan import DispatchPlan
from fleet.settings import Settings, get_settings

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 3.0


def plan_event(row: DispatchPlan, changed_assignment_ids: list[int]) -> dict[str, Any]:
    """The ``fleet/v1/events/plans`` message of a plan change."""
    return {"plan_id": row.id, "service_date": row.service_date.isoformat(),
            "status": row.status.value, "changed_assignment_ids": changed_assignment_ids}


#: The process's one connection for plan events, opened on the first event and kept.
PUBLISHER = EventPublisher("dispatch")


def publish_plan_event(
    row: DispatchPlan, changed_assignment_ids: list[int], settings: Settings | None = None
) -> bool:
    """Publish a plan change at QoS 1 (signed) on the process's long-lived connection, waiting
    up to PUBLISH_TIMEOUT_S seconds for the broker; False (logged) when it cannot be reached."""
    settings = settings or get_settings()
    try:
        client = PUBLISHER.client(settings, PUBLISH_TIMEOUT_S)
        info = client.publish_json(topics.EVENTS_PLANS, plan_event(row, changed_assignment_ids), qos=1)
        info.wait_for_publish(PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError("no PUBACK")
    except (OSError, ValueError, TimeoutError, RuntimeError) as exc:
        log.warning("plan event for plan %s not published to %s: %s", row.id,
                    settings.resolved_mqtt_url, exc)
        return False
    return True
