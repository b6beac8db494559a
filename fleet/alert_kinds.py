"""The kinds of alert the telematics rules raise; the names are part of the platform's
interface (stored in ``Alert.kind``, published on the events topics, planted by the city
simulation as ground truth)."""

from __future__ import annotations

NO_ORDER = "private_use.no_order"
OFF_HOURS = "private_use.off_hours"
OUT_OF_AREA = "private_use.out_of_area"
ROUTE_DEVIATION = "private_use.route_deviation"
OFF_SITE_OVERNIGHT = "parking.off_site_overnight"
FORBIDDEN_ZONE = "parking.forbidden_zone"
DEVICE_OFFLINE = "device.offline"
SPEEDING = "speeding"

#: Every kind of alert the rules raise.
ALERT_KINDS = (NO_ORDER, OFF_HOURS, OUT_OF_AREA, ROUTE_DEVIATION, OFF_SITE_OVERNIGHT,
               FORBIDDEN_ZONE, DEVICE_OFFLINE, SPEEDING)
