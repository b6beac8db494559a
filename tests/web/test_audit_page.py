"""The inspectors' page is served to auditors and administrators only, and the bar links to
it for those two roles alone, with the module that labels the link."""

from __future__ import annotations

from tests.web.conftest import PASSWORD

LINK = '<a href="/audit" data-i18n="nav.audit">'


def _log_in(client, role: str) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    assert client.post("/api/v1/auth/login", data={"username": role, "password": PASSWORD}).status_code == 200


def test_auditors_and_administrators_open_it_from_the_bar(client, world):
    for role in ("auditor", "admin"):
        _log_in(client, role)
        page = client.get("/audit")
        assert page.status_code == 200, role
        assert '<script type="module" src="/static/js/audit.js"></script>' in page.text
        assert LINK in page.text and "/static/js/labels_audit.js" in page.text
        assert LINK in client.get("/").text  # the console's bar too


def test_other_roles_are_sent_home_and_see_no_link(client, world):
    for role, home in (("dispatcher", "/"), ("requester", "/requests"), ("approver", "/approvals"),
                       ("driver", "/driver")):
        _log_in(client, role)
        refused = client.get("/audit", follow_redirects=False)
        assert (refused.status_code, refused.headers["location"]) == (303, home), role
        assert LINK not in client.get(home).text, role
    client.cookies.clear()
    anonymous = client.get("/audit", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Faudit"
