"""Roads stay inside the rules' route corridor; terminals send every fix they take, with
faults that only reorder, delay or repeat them."""

import numpy as np

from fleet.geo import haversine_m
from simulations.agents import Faults, Leg, Terminal, Timeline
from simulations.city import Car, Path, Roads


def _car() -> Car:
    return Car(1, "苏G12345", "860000000000001", 1, "sedan", 5, "bev", "pool", "available", 1, 1, (34.596, 119.222))


def test_roads_keep_close_to_the_straight_line():
    roads = Roads(7)
    a, b = (34.596, 119.222), (34.284, 119.239)  # city centre to 灌云县
    path = roads(a, b)
    straight = haversine_m(*a, *b)
    assert 0.98 <= path.length_m / straight <= 1.3
    # every vertex within 1 km of the straight segment (the corridor is 2 km)
    t = np.clip(((path.lat - a[0]) * (b[0] - a[0])) / ((b[0] - a[0]) ** 2), 0, 1)
    side_m = np.abs(path.lon - (a[1] + t * (b[1] - a[1]))) * 91_600
    assert side_m.max() < 1_000
    assert roads(a, b).length_m == path.length_m  # the same road for the same pair


def test_terminal_delivers_every_fix_once_at_least_despite_faults():
    timeline = Timeline(_car())
    timeline.add(Leg(1_000.0, 3_000.0, Path.through([(34.596, 119.222), (34.70, 119.30)])))
    timeline.blind.append((1_500.0, 2_000.0))
    faults = Faults(gap_share=0.0, tunnel_share=0.0, shuffle_share=0.3, hold_back_share=0.2, duplicate_share=0.2)
    terminal = Terminal(timeline, 10.0, faults, np.random.default_rng(3))
    sent: list[float] = []
    late = False
    for t0 in np.arange(0.0, 4_000.0, 60.0):
        for message in terminal.messages(t0, t0 + 60):
            times = [f["_t"] for f in message]
            late |= min(times) < t0 - 300
            sent += times
    for message in terminal.messages(4_000.0, 4_060.0):  # the held-back message, if any
        sent += [f["_t"] for f in message]
    expected = terminal.fix_times(0.0, 4_060.0)
    assert set(sent) == set(expected)
    assert len(sent) > len(expected)  # duplicates were sent
    assert late  # the blind-area batch arrived late
    lat, lon, speed, _, ignition = timeline.sample(np.array([500.0, 2_000.0, 3_500.0]))
    assert speed[0] == 0 and speed[1] > 0 and speed[2] == 0
    assert ignition[1] and not ignition[0]
