"""Travel providers: the haversine model, and the OSRM table client.

OSRM cannot run here (no road network, no binary), so the client is tested against a small
local HTTP stand-in that answers ``/table/v1/{profile}/{coordinates}`` in the documented OSRM
format: ``{"code": "Ok", "durations": [[s]], "distances": [[m]]}`` for the ``sources`` and
``destinations`` index lists, ``null`` for unreachable pairs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from dispatch_builders import KM_PER_DEG

from dispatch.instance import SpeedFactor
from dispatch.travel import HaversineTravel, OsrmError, OsrmTravel, great_circle_km

POINTS = [(34.60 + 0.01 * i, 119.20 + 0.013 * (i % 3)) for i in range(7)]


def test_great_circle_along_a_meridian() -> None:
    km = great_circle_km([(34.6, 119.2), (35.6, 119.2)])
    assert km[0, 1] == pytest.approx(KM_PER_DEG, rel=1e-9)
    assert km[1, 0] == km[0, 1] and km[0, 0] == 0


def test_haversine_detour_speed_and_time_of_day() -> None:
    travel = HaversineTravel(detour_factor=1.3, speed_kmh=40.0,
                             speed_factors=[SpeedFactor(from_hour=7, to_hour=9, factor=0.5)])
    base = great_circle_km([(34.6, 119.2), (34.7, 119.3)])[0, 1]
    planned = travel.matrices([(34.6, 119.2), (34.7, 119.3)])
    assert planned.distance_km[0, 1] == pytest.approx(base * 1.3)
    # a single matrix plans with the slowest factor of the day (0.5)
    assert planned.duration_s[0, 1] == pytest.approx(base * 1.3 / 20.0 * 3600)
    at_noon = travel.matrices_at([(34.6, 119.2), (34.7, 119.3)], hour=12)
    assert at_noon.duration_s[0, 1] == pytest.approx(base * 1.3 / 40.0 * 3600)
    assert travel.factor_at(8) == 0.5 and travel.factor_at(9) == 1.0


class _OsrmStandIn(BaseHTTPRequestHandler):
    """Answers the OSRM table service from straight-line distances at 36 km/h."""

    calls: list[tuple[int, int]] = []
    unreachable = False

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        parts = url.path.split("/")
        assert parts[1:4] == ["table", "v1", "driving"]
        coords = [tuple(map(float, c.split(","))) for c in parts[4].split(";")]
        query = parse_qs(url.query)
        sources = [int(i) for i in query["sources"][0].split(";")]
        destinations = [int(i) for i in query["destinations"][0].split(";")]
        assert query["annotations"] == ["duration,distance"]
        latlon = [(lat, lon) for lon, lat in coords]
        metres = great_circle_km(latlon) * 1000
        distances = [[float(metres[i, j]) for j in destinations] for i in sources]
        durations = [[d / 10.0 for d in row] for row in distances]
        if self.unreachable:
            durations[0][-1] = None
        type(self).calls.append((len(sources), len(destinations)))
        body = json.dumps({"code": "Ok", "durations": durations, "distances": distances}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osrm_url() -> Iterator[str]:
    _OsrmStandIn.calls = []
    _OsrmStandIn.unreachable = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OsrmStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_osrm_table_in_chunks_matches_one_matrix(osrm_url: str) -> None:
    travel = OsrmTravel(osrm_url, max_locations=6)  # 3 sources x 3 destinations per call
    matrix = travel.matrices(POINTS)
    expected_km = great_circle_km(POINTS)
    assert np.allclose(matrix.distance_km, expected_km, atol=1e-6)
    assert np.allclose(matrix.duration_s, expected_km * 100, atol=1e-3)
    assert len(_OsrmStandIn.calls) == 9  # ceil(7 / 3) ** 2
    assert all(s <= 3 and d <= 3 for s, d in _OsrmStandIn.calls)


def test_osrm_unreachable_pair_is_an_error(osrm_url: str) -> None:
    _OsrmStandIn.unreachable = True
    with pytest.raises(OsrmError, match="cannot be reached"):
        OsrmTravel(osrm_url).matrices(POINTS[:3])
