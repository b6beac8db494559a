"""The rule engine, orders as served, and an ongoing stop's summary on tiny hand-built tracks
(pure: no database, no broker)."""

from __future__ import annotations

import numpy as np
from pure_tracks import TH, Fixes, clock, context, orders

from telematics.rules.engine import evaluate
from telematics.rules.findings import NO_ORDER, OFF_SITE_OVERNIGHT
from telematics.rules.ongoing_stop import only_extends_stop, summary_findings
from telematics.rules.parking import off_site_overnight
from telematics.rules.private_use import no_order

TOWN = (0.0, 8000.0)


def _late_ride() -> Fixes:
    """Ordered from 10:00 to 10:20, the car leaves the depot at 10:40 and reaches town at 11:00."""
    return Fixes().stand(590, 640).drive(640, 660, TOWN).stand(661, 670, *TOWN)


def test_a_ride_served_late_is_judged_as_served_not_as_planned():
    track, motion = _late_ride().split()
    ctx = context(orders=orders((600, 620, (0, 0), TOWN)))
    assert [f.kind for f in no_order(track, motion, ctx, TH)] == [NO_ORDER]  # by the plan alone
    assert [f.kind for f in evaluate(track, motion, ctx, TH) if f.kind == NO_ORDER] == []


def test_findings_outside_a_leased_cars_hire_windows_are_left_out():
    track, motion = _late_ride().split()
    assert NO_ORDER in {f.kind for f in evaluate(track, motion, context(), TH)}
    assert evaluate(track, motion, context(hired=((clock(12 * 60), clock(18 * 60)),)), TH) == []
    assert evaluate(track, motion, context(hired=((clock(0), clock(9 * 60)),)), TH) == []
    assert evaluate(track, motion, context(hired=()), TH) == []
    hired = context(hired=((clock(0), clock(9 * 60)), (clock(10 * 60), clock(18 * 60))))
    assert NO_ORDER in {f.kind for f in evaluate(track, motion, hired, TH)}


def test_an_ongoing_stops_summary_is_judged_as_the_whole_stop():
    night = Fixes().stand(21 * 60, 31 * 60, *TOWN, every_min=10)
    track, motion = night.split()
    (whole,) = off_site_overnight(track, motion, context(), TH)
    (summary,) = summary_findings(1, len(track), float(track.t_s[0]), float(track.t_s[-1]), len(track),
                                  float(np.mean(track.lat)), float(np.mean(track.lon)), context(), TH)
    assert summary.kind == OFF_SITE_OVERNIGHT and (summary.start_s, summary.end_s) == (whole.start_s, whole.end_s)
    assert summary.evidence == whole.evidence


def test_only_a_standing_tail_extends_the_stop():
    standing, motion = Fixes().stand(600, 620, *TOWN).split()
    assert only_extends_stop(standing, motion, evaluate(standing, motion, context(), TH))
    leaving, motion = Fixes().stand(600, 620, *TOWN).drive(620, 630, (0, 0)).split()
    assert not only_extends_stop(leaving, motion, evaluate(leaving, motion, context(), TH))
    cut = Fixes().stand(600, 610, *TOWN).fix(611, *TOWN, power_cut=True).stand(612, 620, *TOWN)
    track, motion = cut.split()
    assert not only_extends_stop(track, motion, evaluate(track, motion, context(), TH))
