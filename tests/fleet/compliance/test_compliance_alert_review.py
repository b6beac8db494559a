"""Alert review over the API: open -> under_review -> confirmed | justified (reason) |
false_positive, a reviewer assigned, every step in the review table and the audit log."""

# ruff: noqa: F811  (the web fixtures are imported by name)
from __future__ import annotations

from tests.web.conftest import app, client, world  # noqa: F401  (fixtures)


def _review(client, world, role: str, body: dict):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/alerts/{world.ids['alert']}/review", json=body, headers=world.auth(role))


def test_review_to_justified_needs_a_reason_and_is_recorded(client, world):
    start = _review(client, world, "dispatcher", {"to": "under_review", "reviewer_id": world.ids["user_admin"]})
    assert start.status_code == 200, start.text
    assert start.json()["state"] == "under_review"
    no_reason = _review(client, world, "dispatcher", {"to": "justified"})
    assert no_reason.status_code == 422 and no_reason.json()["detail"].startswith("reason:")
    done = _review(client, world, "admin", {"to": "justified", "reason": "夜间抢险，有书面派车单"})
    assert done.status_code == 200 and done.json()["state"] == "justified"

    steps = client.get(f"/api/v1/alerts/{world.ids['alert']}/reviews", headers=world.auth("auditor")).json()
    assert [(s["from_state"], s["to_state"]) for s in steps] == [("open", "under_review"),
                                                                 ("under_review", "justified")]
    assert [s["reviewer_id"] for s in steps] == [world.ids["user_admin"]] * 2  # the assigned reviewer stays
    assert [s["actor"] for s in steps] == ["dispatcher", "admin"]
    assert steps[1]["reason"] == "夜间抢险，有书面派车单"

    audit = client.get("/api/v1/audit-entries", params={"object_type": "alert"}, headers=world.auth("admin")).json()
    assert [e["action"] for e in audit["items"]] == ["alert.review.under_review", "alert.review.justified"]
    assert audit["items"][1]["before"]["state"] == "under_review"
    assert audit["items"][1]["after"]["state"] == "justified"
    assert audit["items"][1]["after"]["reason"] == "夜间抢险，有书面派车单"


def test_illegal_steps_are_409_and_decisions_final(client, world):
    skip = _review(client, world, "admin", {"to": "confirmed"})
    assert skip.status_code == 409 and "allowed: under_review" in skip.json()["detail"]
    assert _review(client, world, "admin", {"to": "under_review"}).status_code == 200
    assert _review(client, world, "admin", {"to": "false_positive"}).json()["state"] == "false_positive"
    again = _review(client, world, "admin", {"to": "under_review"})
    assert again.status_code == 409 and "final" in again.json()["detail"]
    steps = client.get(f"/api/v1/alerts/{world.ids['alert']}/reviews", headers=world.auth("admin")).json()
    assert steps[0]["reviewer_id"] == world.ids["user_admin"]  # the caller starting the review by default


def test_reviewer_must_be_a_reviewing_role(client, world):
    bad = _review(client, world, "admin", {"to": "under_review", "reviewer_id": world.ids["user_driver"]})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("reviewer_id:")
    missing = _review(client, world, "admin", {"to": "under_review", "reviewer_id": 999_999})
    assert missing.status_code == 422


def test_roles_outside_the_review_are_refused(client, world):
    for role in ("auditor", "driver", "requester", "approver"):
        assert _review(client, world, role, {"to": "under_review"}).status_code == 403, role
    for role in ("driver", "requester", "approver"):
        response = client.get(f"/api/v1/alerts/{world.ids['alert']}/reviews", headers=world.auth(role))
        assert response.status_code == 403, role
    assert client.get(f"/api/v1/alerts/{world.ids['alert']}/reviews").status_code == 401
