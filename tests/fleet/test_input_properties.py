"""Property tests on functions that take user data: they either accept, or refuse with a
ValueError that names the field; nothing else escapes."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fleet.geo import validate_polygon_geojson
from fleet.models import RequestState, Role, TripRequestCreate
from fleet.request_workflow import (
    TRANSITIONS,
    IllegalTransition,
    ReasonRequired,
    TransitionForbidden,
    check_transition,
)

coordinates = st.lists(st.lists(st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)), max_size=8),
                       max_size=3)


@given(kind=st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString", None, 7]), coords=coordinates)
@settings(max_examples=300)
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_polygon_validation_only_raises_value_errors(kind, coords):
    geometry = {"type": kind, "coordinates": coords}
    try:
        assert validate_polygon_geojson(geometry) is geometry
    except ValueError as exc:
        assert str(exc).startswith("geometry:")


@given(current=st.sampled_from(list(RequestState)), target=st.sampled_from(list(RequestState)),
       role=st.sampled_from(list(Role)), reason=st.one_of(st.none(), st.text(max_size=5)))
def test_transition_check_agrees_with_the_table(current, target, role, reason):
    step = TRANSITIONS.get((current, target))
    try:
        check_transition(current, target, role, reason)
    except IllegalTransition:
        assert step is None
    except TransitionForbidden:
        assert step is not None and role not in step.roles
    except ReasonRequired:
        assert step is not None and step.reason_required and not (reason and reason.strip())
    else:
        assert step is not None and role in step.roles


def test_final_states_have_no_way_out():
    for final in (RequestState.completed, RequestState.cancelled, RequestState.rejected):
        assert not [t for (src, t) in TRANSITIONS if src == final]


T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))


@given(window_min=st.integers(-600, 3000), dropoff_min=st.one_of(st.none(), st.integers(-600, 3000)),
       passengers=st.integers(-3, 80), lat=st.floats(-100, 100), wait=st.booleans())
@settings(max_examples=300)
def test_trip_request_validation_names_the_field(window_min, dropoff_min, passengers, lat, wait):
    body = {"agency_id": 1, "purpose": "会议", "passengers": passengers, "origin_lat": lat, "origin_lon": 119.2,
            "destination_lat": 34.7, "destination_lon": 119.3, "pickup_earliest": T0,
            "pickup_latest": T0 + timedelta(minutes=window_min), "wait_and_return": wait,
            "dropoff_latest": None if dropoff_min is None else T0 + timedelta(minutes=dropoff_min)}
    try:
        request = TripRequestCreate.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            # a field error carries its location; a cross-field rule names the field in its text
            assert error["loc"] or re.search(r"\b(pickup_latest|dropoff_latest|return_at): ", error["msg"]), error
        return
    assert request.pickup_latest >= request.pickup_earliest
    assert 1 <= request.passengers <= 59
    assert not wait  # wait-and-return without return_at is refused


def test_naive_pickup_time_is_refused():
    with pytest.raises(ValidationError, match="pickup_earliest"):
        TripRequestCreate.model_validate({
            "agency_id": 1, "purpose": "会议", "passengers": 1, "origin_lat": 34.6, "origin_lon": 119.2,
            "destination_lat": 34.7, "destination_lon": 119.3, "pickup_earliest": "2026-12-01T08:00:00",
            "pickup_latest": "2026-12-01T08:30:00+08:00"})
