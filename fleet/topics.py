"""MQTT topic names shared by devices, the ingest worker, the web hub and the simulation."""

from __future__ import annotations

PREFIX = "fleet/v1"

#: A device publishes positions here: one JSON object or a JSON array of them.
GPS = PREFIX + "/vehicles/{device_id}/gps"
#: Retained online/offline status of a device (also its last will).
STATUS = PREFIX + "/vehicles/{device_id}/status"
GPS_WILDCARD = PREFIX + "/vehicles/+/gps"
STATUS_WILDCARD = PREFIX + "/vehicles/+/status"

#: Accepted positions as the platform sees them (vehicle id, plate, state), for live maps.
EVENTS_POSITIONS = PREFIX + "/events/positions"
#: Alerts as they are raised or change state.
EVENTS_ALERTS = PREFIX + "/events/alerts"
#: Dispatch plan and assignment changes.
EVENTS_PLANS = PREFIX + "/events/plans"
#: Messages the ingest worker refused, with the reason (dead letters).
INGEST_REJECTED = PREFIX + "/ingest/rejected"
#: How the reason of a dead letter from the jump filter begins: a well-formed fix set aside
#: (held, dropped as a GPS jump, or moved out of the track), not a refused message.
TRACK_FILTER_REASON = "lat, lon: "


def gps_topic(device_id: str) -> str:
    return GPS.format(device_id=device_id)


def shared(topic: str, group: str) -> str:
    """``$share/<group>/<topic>`` when a group is set, else the topic itself."""
    return f"$share/{group}/{topic}" if group else topic
