"""The console's car list and the map's plates in a real browser (headless Chromium): a
dispatcher searches a plate and lands on the car (the map centred on it, the car selected,
its card open), the filters narrow the list, in Chinese and in English; at zoom 15 a stack
of cars parked side by side shows plates that never overlap."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from web_ui_world import local_today_at, log_in  # type: ignore[import-not-found]

from fleet.models import Assignment, AssignmentKind, Position, Vehicle, utcnow
from fleet.models.dispatch_plan import DispatchPlan, PlanStatus
from tests.builders import SHANGHAI, vehicle

pytestmark = pytest.mark.slow
SHOTS = Path("/tmp/shots")
#: Where the stack of cars stands (a car park beside the city government).
STACK = (34.61, 119.21)


def _stack_of_cars(session: Session, w) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Twelve cars parked within a few metres of STACK (four moving off, three idling, five
    parked; every third one leased; the even ones of 市财政局), two cars 150 m north, and a
    plan of today in which 张师傅 drives 苏G70005."""
    ids = w.ids
    own = session.get(Vehicle, ids["today_vehicle"])
    own.vin = "LUJ" + own.vin[3:]  # a VIN has no letter I: GET /vehicles validates what it answers
    now = utcnow() - timedelta(minutes=1)
    made: dict[int, dict[str, object]] = {}
    for n in range(14):
        leased = n % 3 == 2
        org = ids["other_agency"] if n % 2 == 0 else ids["agency"]
        car = vehicle(session, f"苏G7{n:04d}", f"LSVAA4180E3{n:06d}", org, ownership="leased" if leased else "pool",
                      lessor_id=ids["lessor"] if leased else None, home_depot_id=ids["depot"])
        if n < 12:
            lat, lon = STACK[0] + (n // 4) * 0.00004, STACK[1] + (n % 4) * 0.00004
        else:
            lat, lon = STACK[0] + 0.0014 * (n - 11), STACK[1]
        state = "moving" if n < 4 else "idling" if n < 7 else "parked"
        session.add(Position(vehicle_id=car.id, ts=now, lat=lat, lon=lon, speed_kmh=30.0 if state == "moving" else 0.0,
                             ignition=state != "parked"))
        made[car.id] = {"plate": car.plate, "lat": lat, "lon": lon, "state": state, "leased": leased, "org": org}
    target = next(i for i, c in made.items() if c["plate"] == "苏G70005")
    plan = DispatchPlan(service_date=datetime.now(SHANGHAI).date(), org_id=ids["city"], status=PlanStatus.proposed,
                        total_cost_cny=100, pool_count=1, pool_available=1, created_by="dispatcher")
    session.add(plan)
    session.flush()
    session.add(Assignment(request_id=ids["approved_today"], kind=AssignmentKind.pool, vehicle_id=target,
                           driver_id=ids["driver"], planned_pickup=local_today_at(23, 0),
                           planned_dropoff=local_today_at(23, 30), cost_cny=100, org_id=ids["agency"], plan_id=plan.id,
                           explanation="pool car", reason={"code": "pool_only", "params": {"vehicle": target, "added_cny": 100}}))
    session.commit()
    return {"cars": made, "target": target}


def _settled(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the map's first zoom (fitting the cars in) has finished animating: a view set
    during it would be undone when it ends."""
    page.wait_for_function("() => !window.fleetConsole.map._animatingZoom")


def _view(page, lat: float, lon: float, zoom: int) -> None:  # type: ignore[no-untyped-def]
    _settled(page)
    page.evaluate(f"window.fleetConsole.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    page.wait_for_function(f"() => window.fleetConsole.cars.labels && window.fleetConsole.map.getZoom() === {zoom}")


def _visible(page) -> list[int]:  # type: ignore[no-untyped-def]
    return page.evaluate("[...document.querySelectorAll('#car-list li[data-vehicle-id]:not([hidden])')]"
                         ".map((li) => Number(li.dataset.vehicleId))")


def _wait_rows(page, n: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(f"() => document.querySelectorAll('#car-list li:not([hidden])').length === {n}")


def _search(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#car-search", text)


def _land_on(page, vehicle_id: int, car: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    """Click the car's row: the map centres on the car, it is selected, its card opens."""
    page.click(f"#car-list li[data-vehicle-id='{vehicle_id}']")
    page.wait_for_selector(f"#drawer:not([hidden]) .plate:has-text('{car['plate']}')")
    # the car stands in the middle of the map, to the pixel (Leaflet pans by whole pixels)
    offset = page.evaluate(f"""(() => {{ const m = window.fleetConsole.map;
      const p = m.latLngToContainerPoint([{car['lat']}, {car['lon']}]), c = m.getSize().divideBy(2);
      return [p.x - c.x, p.y - c.y]; }})()""")
    assert offset == pytest.approx([0, 0], abs=1.0)
    assert page.evaluate("window.fleetConsole.map.getZoom()") >= 16
    assert page.evaluate("window.fleetConsole.cars._selected") == vehicle_id
    assert page.locator("#car-list li.selected").get_attribute("data-vehicle-id") == str(vehicle_id)
    labels = page.evaluate("window.fleetConsole.cars.labels.map((b) => b.vehicle_id)")
    assert labels[0] == vehicle_id  # the selected car's plate is shown first, always


def test_search_a_plate_land_on_the_car_and_filter_in_both_languages(page, live_server, ui_world, session: Session):
    w = ui_world
    world = _stack_of_cars(session, w)
    cars: dict[int, dict[str, object]] = world["cars"]  # type: ignore[assignment]
    total = len(cars) + 2  # the world's own two cars
    SHOTS.mkdir(exist_ok=True)
    log_in(page, live_server, "dispatcher")
    _settled(page)
    _wait_rows(page, total)
    assert page.inner_text("#car-shown") == f"显示 {total} / {total} 辆"
    counts = {s: int(page.inner_text(f"[data-car-count='{s}'] b")) for s in ("moving", "parked", "idling", "offline")}
    assert counts == {"moving": 4, "parked": 5 + 2 + 1, "idling": 3, "offline": 1}  # 苏G12345 reported long ago

    # a plate, part of it: one car; clicking it lands on it
    target = next(i for i, c in cars.items() if c["plate"] == "苏G70009")
    _search(page, "70009")
    _wait_rows(page, 1)
    assert _visible(page) == [target]
    assert page.inner_text(f"#car-list li[data-vehicle-id='{target}'] .car-state") == "停放"
    _land_on(page, target, cars[target])
    assert "汽油" in page.inner_text("#drawer-body") and "petrol" not in page.inner_text("#drawer-body")
    page.screenshot(path=str(SHOTS / "carlist_search_zh.png"))

    # the driver of today's plan, and an agency's name
    _search(page, "张师傅")
    _wait_rows(page, 1)
    assert _visible(page) == [world["target"]]
    assert "驾驶员 张师傅" in page.inner_text(f"#car-list li[data-vehicle-id='{world['target']}']")
    _search(page, "市财政局")
    _wait_rows(page, 7)
    assert set(_visible(page)) == {i for i, c in cars.items() if c["org"] == w.ids["other_agency"]}
    _search(page, "")

    # filters narrow the list, and combine
    page.select_option("#car-own", "leased")
    leased = {i for i, c in cars.items() if c["leased"]}
    _wait_rows(page, len(leased))
    assert set(_visible(page)) == leased
    page.select_option("#car-state", "idling")
    both = {i for i in leased if cars[i]["state"] == "idling"}
    _wait_rows(page, len(both))
    assert set(_visible(page)) == both
    page.select_option("#car-own", "")
    page.select_option("#car-agency", str(w.ids["agency"]))
    wanted = {i for i, c in cars.items() if c["state"] == "idling" and c["org"] == w.ids["agency"]}
    _wait_rows(page, len(wanted))
    assert set(_visible(page)) == wanted
    page.screenshot(path=str(SHOTS / "carlist_filters_zh.png"))
    page.select_option("#car-agency", "")
    page.click("[data-car-count='moving']")  # a count is a filter too
    _wait_rows(page, 4)
    assert page.input_value("#car-state") == "moving"
    page.select_option("#car-state", "")

    # English: the same list, its words in English, no raw values
    page.click("#lang-switch")
    page.wait_for_function("() => document.getElementById('car-search').placeholder === 'Search plate, driver or agency'")
    assert page.inner_text("#car-shown") == f"{total} of {total} cars"
    assert page.inner_text("[data-car-count='idling'] span") == "Parked, engine on"
    other = next(i for i, c in cars.items() if c["plate"] == "苏G70002")  # leased, moving
    _search(page, "苏g 70002")
    _wait_rows(page, 1)
    row = page.inner_text(f"#car-list li[data-vehicle-id='{other}']")
    assert "Moving" in row and "Leased" in row and "leased" not in row.replace("Leased", "")
    _land_on(page, other, cars[other])
    _search(page, "")
    page.select_option("#car-state", "offline")
    _wait_rows(page, 1)
    assert page.inner_text("#car-list li:not([hidden]) .car-state") == "Offline"
    page.select_option("#car-state", "")
    page.select_option("#car-own", "pool")
    _wait_rows(page, total - len(leased))
    assert page.evaluate("document.getElementById('car-own').selectedOptions[0].textContent") == "Pool"
    page.screenshot(path=str(SHOTS / "carlist_en.png"))

    # a live position (as the feed hands it on): the row changes in place, the counts follow
    page.select_option("#car-own", "")
    parked = next(i for i, c in cars.items() if c["plate"] == "苏G70007")
    page.evaluate(f"document.querySelector(\"#car-list li[data-vehicle-id='{parked}']\").dataset.mark = 'same row'")
    page.evaluate(f"""(() => {{ const c = window.fleetConsole;
      c.cars.update([{{vehicle_id: {parked}, ts: new Date().toISOString(), lat: 34.62, lon: 119.22, speed_kmh: 42, ignition: true}}]);
      c.carList.changed(); }})()""")
    row = f"#car-list li[data-vehicle-id='{parked}']"
    page.wait_for_selector(f"{row} .car-state:text-is('Moving')")
    assert page.get_attribute(row, "data-mark") == "same row"
    assert page.inner_text("[data-car-count='moving'] b") == "5" and page.inner_text("[data-car-count='parked'] b") == "7"
    assert not page.js_errors


def _overlaps(boxes: list[dict[str, float]]) -> list[tuple[str, str]]:
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]:
                pairs.append((a["plate"], b["plate"]))
    return pairs


LABEL_BOXES = "window.fleetConsole.cars.labels.map((b) => ({plate: b.plate, x: b.x, y: b.y, w: b.w, h: b.h, more: b.more || ''}))"


def test_plates_of_stacked_cars_never_overlap(page, live_server, ui_world, session: Session):
    """Twelve cars within ten metres: at zoom 15 every plate drawn where it belongs would pile
    into one blob; the map draws one of them with the count of the others, plus the two cars
    further north, and no two drawn labels intersect (at 15, 17 and 18); the selected car's
    plate is always drawn."""
    world = _stack_of_cars(session, ui_world)
    cars: dict[int, dict[str, object]] = world["cars"]  # type: ignore[assignment]
    SHOTS.mkdir(exist_ok=True)
    log_in(page, live_server, "dispatcher")
    _view(page, STACK[0] + 0.001, STACK[1], 15)
    # every plate at its car, as the map drew them before: they pile up
    naive = page.evaluate("[...window.fleetConsole.cars.cars.values()].filter((c) => c._x !== undefined && c.plate)"
                          ".map((c) => ({plate: c.plate, x: c._x + 9, y: c._y - 7, w: 52, h: 14}))")
    assert len(_overlaps(naive)) >= 60
    boxes = page.evaluate(LABEL_BOXES)
    assert not _overlaps(boxes), boxes
    stacked = {c["plate"] for c in cars.values() if c["lat"] < STACK[0] + 0.001}
    shown_in_stack = [b for b in boxes if b["plate"] in stacked]
    assert len(shown_in_stack) == 1 and shown_in_stack[0]["more"] == "+11", boxes
    assert {"苏G70012", "苏G70013"} <= {b["plate"] for b in boxes}
    map_box = page.locator("#map").bounding_box()
    page.screenshot(path=str(SHOTS / "carlist_zoom15_stack.png"), clip=map_box)

    # the selected car's plate, hidden under the stack's label before, is drawn (first)
    target = next(i for i, c in cars.items() if c["plate"] == "苏G70010")
    assert "苏G70010" not in {b["plate"] for b in boxes}
    page.evaluate(f"window.fleetConsole.cars.select({target})")
    page.wait_for_function(f"() => window.fleetConsole.cars.labels[0]?.vehicle_id === {target}")
    boxes = page.evaluate(LABEL_BOXES)
    assert not _overlaps(boxes), boxes
    page.screenshot(path=str(SHOTS / "carlist_zoom15_selected.png"), clip=map_box)
    for zoom in (17, 18):
        _view(page, STACK[0], STACK[1], zoom)
        boxes = page.evaluate(LABEL_BOXES)
        assert len(boxes) >= 2 and not _overlaps(boxes), (zoom, boxes)
    page.screenshot(path=str(SHOTS / "carlist_zoom18_stack.png"), clip=map_box)
    # below zoom 15 only the selected car is named
    _view(page, STACK[0], STACK[1], 13)
    assert [b["plate"] for b in page.evaluate(LABEL_BOXES)] == ["苏G70010"]
    assert not page.js_errors
