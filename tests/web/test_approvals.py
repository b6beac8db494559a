"""The approver's loop through the API: the pending list names the filer, the rider and the
agency and carries the server's warnings (pickup past, outside working time, rest day or
holiday, outside the county's or the city's allowed area); a batch decision moves each
request on its own, refusing a request the approver filed and one outside their scope."""

from datetime import date, datetime, time, timedelta

from sqlmodel import select

from fleet.models import AuditEntry, TripRequest, Zone, utcnow
from fleet.working_calendar import WorkingCalendar
from tests.builders import SHANGHAI, trip_request

PENDING = "/api/v1/trip-requests/pending-approval"
BATCH = "/api/v1/trip-requests/transitions"


def _box(west: float, south: float, east: float, north: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                [west, south]]]}


def _next_working_day() -> date:
    """The next working day after today (Asia/Shanghai) by the platform's calendar."""
    calendar, day = WorkingCalendar(), datetime.now(SHANGHAI).date() + timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def _submitted(session, world, pickup, filer="user_requester", agency="agency", **fields):
    """A submitted request of ``agency`` filed by ``filer``, committed."""
    request = trip_request(session, world.ids[agency], world.ids[filer], pickup, (34.62, 119.22),
                           window=timedelta(minutes=30), state="submitted", origin=(34.60, 119.20),
                           origin_address="东海县教育局", destination_address="县人民医院", **fields)
    session.commit()
    return request


def _warnings(client, world, request_id, role="approver"):
    """The pending item of ``request_id`` and its warnings by code (without the note that a
    year has no official holiday schedule, which depends on the year the test runs in)."""
    r = client.get(PENDING, headers=world.auth(role))
    assert r.status_code == 200, r.text
    item = next(i for i in r.json()["items"] if i["id"] == request_id)
    return item, {w["code"]: w for w in item["warnings"] if w["code"] != "calendar_unofficial"}


def test_the_pending_list_names_people_and_agency_and_an_ordinary_request_has_no_warning(client, world, session):
    request = _submitted(session, world, _local(_next_working_day(), 9), purpose="教学督导", passengers=3,
                         rider_id=world.ids["user_requester"])
    item, warnings = _warnings(client, world, request.id)
    assert (item["requester_name"], item["rider_name"], item["agency_name"]) == ("requester", "requester", "东海县教育局")
    assert (item["purpose"], item["passengers"], item["origin_address"], item["destination_address"]) == (
        "教学督导", 3, "东海县教育局", "县人民医院")
    assert warnings == {}
    r = client.get(PENDING, headers=world.auth("approver"))
    assert {i["state"] for i in r.json()["items"]} == {"submitted"}
    assert client.get(PENDING, headers=world.auth("requester")).status_code == 403


def test_warnings_for_a_past_an_out_of_hours_and_a_holiday_request(client, world, session):
    past = _submitted(session, world, utcnow() - timedelta(hours=3))
    evening = _submitted(session, world, _local(_next_working_day(), 20, 30))
    new_year = date(datetime.now(SHANGHAI).year + 1, 1, 1)
    holiday = _submitted(session, world, _local(new_year, 10))

    _, warnings = _warnings(client, world, past.id)
    assert "pickup_past" in warnings
    assert warnings["pickup_past"]["params"]["pickup_latest"].startswith(
        past.pickup_latest.isoformat()[:16])

    _, warnings = _warnings(client, world, evening.id)
    assert set(warnings) == {"off_hours"}
    assert warnings["off_hours"]["params"].items() >= {"work_start": "08:00", "work_end": "18:00",
                                                       "day": _next_working_day().isoformat()}.items()

    _, warnings = _warnings(client, world, holiday.id)
    assert set(warnings) == {"rest_day"}
    assert warnings["rest_day"]["params"].items() >= {"day": new_year.isoformat(), "holiday_zh": "元旦",
                                                      "holiday_en": "New Year's Day"}.items()
    assert "New Year's Day" in warnings["rest_day"]["message"]


def test_warnings_for_leaving_the_county_and_the_allowed_area(client, world, session):
    session.add_all([
        Zone(name="东海县行政区域", org_id=world.ids["county"], kind="allowed_area", geometry=_box(118.9, 34.4, 119.3, 34.7)),
        Zone(name="连云港市行政区域", org_id=world.ids["city"], kind="allowed_area", geometry=_box(118.5, 34.0, 119.8, 35.1))])
    session.commit()
    pickup = _local(_next_working_day(), 9)
    other_county = trip_request(session, world.ids["agency"], world.ids["user_requester"], pickup, (34.80, 119.40),
                                origin=(34.60, 119.20), state="submitted", destination_address="连云区政府")
    out_of_city = trip_request(session, world.ids["agency"], world.ids["user_requester"], pickup, (32.06, 118.79),
                               origin=(34.60, 119.20), state="submitted", destination_address="南京市")
    session.commit()
    inside = _submitted(session, world, pickup)

    _, warnings = _warnings(client, world, other_county.id)
    assert set(warnings) == {"leaves_county"}
    assert warnings["leaves_county"]["params"] == {"point": "destination", "address": "连云区政府",
                                                   "area": "东海县行政区域", "org": "东海县"}
    _, warnings = _warnings(client, world, out_of_city.id)
    assert set(warnings) == {"leaves_county", "outside_allowed_area"}
    assert warnings["outside_allowed_area"]["params"]["area"] == "连云港市行政区域"
    assert _warnings(client, world, inside.id)[1] == {}


def test_batch_approval_refuses_requests_the_approver_filed_or_rides_in_and_moves_the_others(client, world, session):
    pickup = _local(_next_working_day(), 10)
    first, second = _submitted(session, world, pickup), _submitted(session, world, pickup)
    own = _submitted(session, world, pickup, filer="user_approver")
    riding = _submitted(session, world, pickup, rider_id=world.ids["user_approver"])
    r = client.post(BATCH, json={"ids": [first.id, own.id, second.id, riding.id], "to": "approved"},
                    headers=world.auth("approver"))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["moved"], answer["refused"]) == (2, 2)
    assert [x["id"] for x in answer["results"]] == [first.id, own.id, second.id, riding.id]
    by_id = {x["id"]: x for x in answer["results"]}
    assert by_id[first.id] == {"id": first.id, "ok": True, "status": 200, "code": "moved", "state": "approved",
                             "detail": None}
    assert by_id[second.id]["ok"] and by_id[second.id]["state"] == "approved"
    assert by_id[own.id] == {"id": own.id, "ok": False, "status": 403, "code": "separation_of_duties",
                             "state": "submitted", "detail":
                             "separation of duties: nobody approves or rejects a trip request they filed or ride in"}
    assert (by_id[riding.id]["status"], by_id[riding.id]["code"]) == (403, "separation_of_duties")
    session.expire_all()
    assert [session.get(TripRequest, i).state for i in (first.id, own.id, second.id, riding.id)] == [
        "approved", "submitted", "approved", "submitted"]
    approvals = session.exec(select(AuditEntry.object_id).where(AuditEntry.action == "trip_request.approved")).all()
    assert sorted(approvals) == sorted([str(first.id), str(second.id)])


def test_batch_answers_404_for_another_agencys_request_and_409_for_a_decided_one(client, world, session):
    pickup = _local(_next_working_day(), 10)
    mine = _submitted(session, world, pickup)
    elsewhere = _submitted(session, world, pickup, filer="user_other_requester", agency="other_agency")
    decided = _submitted(session, world, pickup, filer="user_requester")
    decided.state = "approved"
    session.add(decided)
    session.commit()
    r = client.post(BATCH, json={"ids": [elsewhere.id, mine.id, decided.id, 999_999], "to": "rejected",
                                 "reason": "不符合用车规定"}, headers=world.auth("approver"))
    assert r.status_code == 200, r.text
    by_id = {x["id"]: x for x in r.json()["results"]}
    assert by_id[elsewhere.id] == {"id": elsewhere.id, "ok": False, "status": 404, "code": "not_found", "state": None,
                                   "detail": f"trip request {elsewhere.id} not found"}
    assert by_id[999_999]["status"] == 404
    assert by_id[mine.id]["ok"] and by_id[mine.id]["state"] == "rejected"
    assert (by_id[decided.id]["status"], by_id[decided.id]["code"]) == (409, "wrong_state")
    assert "cannot go to 'rejected'" in by_id[decided.id]["detail"]
    session.expire_all()
    assert session.get(TripRequest, elsewhere.id).state == "submitted"
    assert session.get(TripRequest, mine.id).state_reason == "不符合用车规定"
    assert elsewhere.id not in [i["id"] for i in client.get(PENDING, headers=world.auth("approver")).json()["items"]]


def test_batch_rejection_needs_a_reason_for_each_and_bad_batches_are_refused(client, world, session):
    request = _submitted(session, world, _local(_next_working_day(), 10))
    r = client.post(BATCH, json={"ids": [request.id], "to": "rejected"}, headers=world.auth("approver"))
    assert r.json()["results"] == [{"id": request.id, "ok": False, "status": 422, "code": "reason_missing",
                                    "state": "submitted",
                                    "detail": "reason: required to move a request to 'rejected'"}]
    for body in ({"ids": [request.id, request.id], "to": "approved"}, {"ids": [], "to": "approved"},
                 {"ids": [request.id], "to": "cancelled", "reason": "x"}):
        assert client.post(BATCH, json=body, headers=world.auth("approver")).status_code == 422
    for role in ("requester", "dispatcher", "auditor", "driver"):
        assert client.post(BATCH, json={"ids": [request.id], "to": "approved"},
                           headers=world.auth(role)).status_code == 403
