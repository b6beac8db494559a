"""Parking rules on tiny hand-built tracks (pure: no database, no broker)."""

from __future__ import annotations

from pure_tracks import SITE, TH, Fixes, clock, context, square

from telematics.rules.context import Place
from telematics.rules.findings import FORBIDDEN_ZONE, OFF_SITE_OVERNIGHT
from telematics.rules.parking import forbidden_zone, off_site_overnight

EVENING, NEXT_MORNING = 21 * 60, (24 + 7) * 60


def _night_at(north_m: float, east_m: float, last_min: float = NEXT_MORNING) -> Fixes:
    """Parked from 21:00 until ``last_min``, a fix every 10 minutes."""
    return Fixes().stand(EVENING, last_min, north_m, east_m, every_min=10)


def test_a_night_away_from_the_designated_site_is_off_site_overnight():
    track, motion = _night_at(0, 8000).split()
    (found,) = off_site_overnight(track, motion, context(site=SITE), TH)
    assert found.kind == OFF_SITE_OVERNIGHT and found.stop_index == 0
    assert (found.start_s, found.end_s) == (clock(EVENING), clock(NEXT_MORNING))
    assert found.evidence["night_s"] == 8 * 3600  # 22:00 to 06:00
    assert found.evidence["designated_site"] == {"id": SITE.id, "name": SITE.name}


def test_a_night_at_the_designated_site_is_no_violation():
    track, motion = _night_at(0, 0).split()
    assert off_site_overnight(track, motion, context(site=SITE), TH) == []


def test_a_night_beside_the_site_within_its_tolerance_counts_as_at_the_site():
    track, motion = _night_at(0, 90).split()  # 40 m beyond the site's edge, tolerance 50 m
    assert off_site_overnight(track, motion, context(site=SITE), TH) == []


def test_less_than_the_overnight_minimum_is_no_violation():
    track, motion = _night_at(0, 8000, last_min=25 * 60).split()  # 3 h of night, 4 h needed
    assert off_site_overnight(track, motion, context(site=SITE), TH) == []


def test_a_car_without_a_designated_site_is_away_wherever_it_stands():
    track, motion = _night_at(0, 0).split()
    (found,) = off_site_overnight(track, motion, context(), TH)
    assert found.evidence["designated_site"] is None


VENUE = Place(7, "某会所", square(0, 8000, 100))


def test_a_long_stop_inside_a_forbidden_venue_is_critical():
    track, motion = Fixes().stand(600, 615, 0, 8000).split()
    (found,) = forbidden_zone(track, motion, context(forbidden_zones=(VENUE,)), TH)
    assert found.kind == FORBIDDEN_ZONE and found.severity == "critical"
    assert found.evidence["duration_s"] == 900 and found.evidence["zones"] == [{"id": 7, "name": "某会所"}]


def test_a_short_stop_or_one_beside_the_venue_is_no_violation():
    short, motion = Fixes().stand(600, 605, 0, 8000).split()  # 5 min, 10 needed
    assert forbidden_zone(short, motion, context(forbidden_zones=(VENUE,)), TH) == []
    beside, motion = Fixes().stand(600, 615, 300, 8000).split()
    assert forbidden_zone(beside, motion, context(forbidden_zones=(VENUE,)), TH) == []


def test_a_stop_in_two_overlapping_venues_is_one_alert_naming_both():
    other = Place(8, "另一会所", square(0, 8050, 100))
    track, motion = Fixes().stand(600, 615, 0, 8000).split()
    (found,) = forbidden_zone(track, motion, context(forbidden_zones=(VENUE, other)), TH)
    assert [z["id"] for z in found.evidence["zones"]] == [7, 8]
