"""The plan checker's findings as data: each broken rule of a shared ride has its code, the
stop and request it concerns and the requests on board, and the same words as check_plan."""

from __future__ import annotations

import pytest
from dispatch_builders import build
from test_dispatch_shared_rides import _same_way, _shared_plan  # type: ignore[import-not-found]

from dispatch.check import check_plan, plan_violations


@pytest.mark.parametrize(("change", "code", "params"), [
    (lambda d: d["requests"][0].update(passengers=3), "seats", {"passengers": 5, "seats": 4, "with": ["R1"]}),
    (lambda d: d["requests"][1].update(exclusive=True), "exclusive", {"with": ["R1"]}),
    (lambda d: d.update(policy={"sharing": False}), "sharing_off", {"with": ["R1"]}),
    (lambda d: (d["requests"][1].update(agency="A9"), d.update(policy={"share_within_agency": ["A9"]})),
     "share_within_agency", {"with": ["R1"]}),
])
def test_a_co_ride_finding_names_its_rule_stop_and_riders(change, code, params):
    data = _same_way()
    plan = _shared_plan(data)
    change(data)
    instance = build(data)
    found, _ = plan_violations(instance, plan)
    assert [v.text for v in found] == check_plan(instance, plan)
    finding = next(v for v in found if v.code == code)
    assert (finding.vehicle, finding.stop, finding.request) == ("P1", 1, "R2")
    assert finding.params == params


def test_a_ride_over_its_ceiling():
    data = _same_way()
    data["requests"][0].update(max_ride_s=15 * 60)
    ride = next(v for v in plan_violations(build(data), _shared_plan(data))[0] if v.code == "max_ride")
    assert (ride.request, ride.stop, ride.params["max_ride_s"]) == ("R1", 2, 900)
    assert ride.params["ride_s"] > 900 and f"ride of {ride.params['ride_s']} s" in ride.text


def test_a_stop_the_car_cannot_reach_in_time_names_the_stop_before():
    data = _same_way()
    plan = _shared_plan(data)
    early = plan.routes[0].stops[2].model_copy(update={"arrival": plan.routes[0].stops[1].start,
                                                        "start": plan.routes[0].stops[1].start})
    plan.routes[0].stops[2] = early
    found, _ = plan_violations(build(data), plan)
    late = next(v for v in found if v.code == "unreachable")
    assert (late.request, late.stop, late.params["type"], late.params["after"]) == ("R1", 2, "dropoff", "R2")
