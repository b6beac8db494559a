"""The ``q`` search matches the text literally: ``%``, ``_`` and the escape character are
ordinary characters in a name, never wildcards."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from fleet.models import Depot, Lessor, Organisation, OrgLevel
from tests.builders import organisation
from tests.web.conftest import World

NAMES = ["满100%车队", "一_二车队", "东/西车队", "普通车队"]


def _depots(session: Session, w: World) -> None:
    session.add_all(Depot(name=name, org_id=w.ids["city"], lat=34.6, lon=119.2) for name in NAMES)


def _lessors(session: Session, w: World) -> None:
    session.add_all(Lessor(name=name, org_id=w.ids["city"], contract_start=date(2026, 1, 1),
                           contract_end=date(2026, 12, 31), lat=34.6, lon=119.2) for name in NAMES)


def _organisations(session: Session, w: World) -> None:
    county = session.get(Organisation, w.ids["county"])
    for number, name in enumerate(NAMES):
        organisation(session, name, f"320722-Q{number}", OrgLevel.agency, county)


@pytest.mark.parametrize("path,add", [("/depots", _depots), ("/lessors", _lessors),
                                      ("/organisations", _organisations)])
@pytest.mark.parametrize("q,expected", [("%", ["满100%车队"]), ("_", ["一_二车队"]), ("%车队", ["满100%车队"]),
                                        ("/%", []), ("/_", [])])
def test_search_treats_wildcards_as_text(client, world, session, path, add, q, expected):
    add(session, world)
    session.commit()
    r = client.get("/api/v1" + path, params={"q": q, "limit": 200}, headers=world.auth("admin"))
    assert r.status_code == 200
    assert sorted(item["name"] for item in r.json()["items"]) == expected

