"""Decoding device payloads: every refusal names the field and the rule; one bad point in an
array never drops the good ones; fuzzed bytes never raise."""

from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_builders import T0, fix
from typer.testing import CliRunner

import telematics.cli
from telematics.ingest.decoding import decode_gps, decode_status
from tests.builders import fleet_command_line

TOPIC = "fleet/v1/vehicles/dev-0001/gps"
NOW = T0 + timedelta(hours=1)


def _decode(payload: object, topic: str = TOPIC):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return decode_gps(topic, raw, NOW, 300)


def test_one_object_and_epoch_seconds():
    result = _decode({**fix("dev-0001", T0), "ts": T0.timestamp()})
    assert [f.ts for f in result.fixes] == [T0] and result.rejections == []


def test_offset_times_are_kept_in_utc():
    result = _decode(fix("dev-0001", T0.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))))
    assert result.fixes[0].ts == T0 and result.fixes[0].ts.utcoffset() == timedelta(0)


def test_bad_point_in_an_array_keeps_the_good_ones():
    good = [fix("dev-0001", T0), fix("dev-0001", T0 + timedelta(seconds=10))]
    bad = fix("dev-0001", T0 + timedelta(seconds=5), lat=91)
    result = _decode([good[0], bad, good[1]])
    assert len(result.fixes) == 2
    [rejection] = result.rejections
    assert rejection.reason.startswith("[1].lat:") and "less than or equal to 90" in rejection.reason
    assert rejection.payload == bad and rejection.kind == "invalid_field"


def test_refusals_name_field_and_rule():
    cases = {
        b"{not json": ("malformed_json", "payload: not valid UTF-8 JSON"),
        json.dumps({k: v for k, v in fix("dev-0001", T0).items() if k != "ignition"}).encode(): ("invalid_field", "ignition: Field required"),
        json.dumps(fix("dev-0002", T0)).encode(): ("device_mismatch", "device_id: 'dev-0002' does not match the topic's 'dev-0001'"),
        json.dumps(fix("dev-0001", NOW + timedelta(minutes=6))).encode(): ("future_ts", "ts: more than 300 s in the future"),
        json.dumps({**fix("dev-0001", T0), "ts": "2026-11-23T09:00:00"}).encode(): ("invalid_field", "ts: Input should have timezone info"),
        json.dumps(fix("dev-0001", T0, valid=False)).encode(): ("no_fix", "valid: the terminal has no GPS fix"),
        b"[]": ("invalid_field", "payload: empty array"),
        b"[1]": ("invalid_field", "[0]: must be a JSON object"),
        json.dumps({**fix("dev-0001", T0), "speed_kmh": float("nan")}).encode(): ("invalid_field", "speed_kmh: Input should be a finite number"),
    }
    for raw, (kind, reason) in cases.items():
        [rejection] = decode_gps(TOPIC, raw, NOW, 300).rejections
        assert (rejection.kind, rejection.reason[: len(reason)]) == (kind, reason), raw
        body = json.loads(rejection.as_json())
        assert set(body) == {"topic", "reason", "payload"} and body["topic"] == TOPIC


def test_numbers_and_flags_must_have_their_json_types_as_the_schema_says():
    cases = {
        "lat": ("34.6", True), "lon": ("119.2", False), "speed_kmh": ("40",), "heading_deg": (True,),
        "ignition": ("yes", 1, "true"), "valid": ("true", 0), "sats": (7.5, "7"), "odometer_km": ("1200",),
    }
    for field, values in cases.items():
        for value in values:
            point = {**fix("dev-0001", T0), field: value}
            for shape in (point, [point]):
                result = _decode(shape)
                assert result.fixes == [], (field, value)
                [rejection] = result.rejections
                prefix = "[0]." if isinstance(shape, list) else ""
                assert rejection.reason.startswith(f"{prefix}{field}: Input should be a valid"), rejection.reason
                assert rejection.kind == "invalid_field"
    flagged = _decode({**fix("dev-0001", T0), "alarm": {"power_cut": "yes"}})
    assert flagged.rejections[0].reason.startswith("alarm.power_cut: Input should be a valid boolean")
    # What the schema documents stays accepted: whole numbers, and epoch seconds as text.
    whole_degrees = {**fix("dev-0001", T0), "lat": 34, "lon": 119, "speed_kmh": 0, "heading_deg": 0, "sats": 7}
    epoch_text = {**fix("dev-0001", T0), "ts": str(int(T0.timestamp()))}
    result = _decode([whole_degrees, epoch_text])
    assert result.rejections == [] and [f.lat for f in result.fixes] == [34.0, 34.6]
    assert result.fixes[1].ts == T0


def test_a_fix_at_zero_zero_is_refused_as_no_position():
    for shape in (fix("dev-0001", T0, lat=0, lon=0), [fix("dev-0001", T0, lat=0.0, lon=0.0)]):
        result = _decode(shape)
        assert result.fixes == []
        [rejection] = result.rejections
        assert rejection.kind == "null_island" and "lat, lon: (0, 0) is what a terminal without a fix reports" in rejection.reason
    assert _decode(fix("dev-0001", T0, lat=0.0, lon=119.2)).fixes  # on the equator is a place


def test_a_fix_just_inside_the_future_tolerance_is_accepted():
    assert _decode(fix("dev-0001", NOW + timedelta(minutes=4))).fixes


def test_status_payloads():
    assert decode_status("t", b"offline").state == "offline"
    assert decode_status("t", b'{"state": "online", "ts": 1764000000}').state == "online"
    assert decode_status("t", b'{"state": "asleep"}').reason.startswith("state: Input should be 'online' or 'offline'")


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(list(fix("d", T0)) + ["alarm", "x"]), inner, max_size=8),
        max_leaves=20,
    ).map(lambda doc: json.dumps(doc).encode()),
    st.fixed_dictionaries({k: st.one_of(st.just(v), st.floats(), st.text(max_size=5), st.none()) for k, v in fix("dev-0001", T0).items()}).map(lambda d: json.dumps(d).encode()),
))
def test_fuzzed_payloads_never_raise(raw: bytes):
    result = decode_gps(TOPIC, raw, NOW, 300)
    for rejection in result.rejections:
        json.loads(rejection.as_json())
    assert result.fixes or result.rejections
    decode_status("fleet/v1/vehicles/dev-0001/status", raw)


def test_schema_position_command_prints_a_schema_that_accepts_both_shapes():
    result = CliRunner().invoke(fleet_command_line(telematics.cli.register, "replay"), ["schema", "position"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    jsonschema.validate(fix("dev-0001", T0), schema)
    jsonschema.validate([fix("dev-0001", T0), fix("dev-0001", T0, odometer_km=1.5, alarm={"power_cut": True})], schema)
    try:
        jsonschema.validate({**fix("dev-0001", T0), "lat": 120}, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("lat 120 passed the schema")
