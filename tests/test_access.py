"""Every route declares who may use it; roles are enforced."""

from __future__ import annotations

from bizportal.auth.access import access_rule


def test_every_route_declares_an_access_rule(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if access_rule(app.view_functions[rule.endpoint]) is None:
            missing.append(f"{rule.rule} ({rule.endpoint})")
    assert not missing, "routes without an access rule: " + ", ".join(missing)


def test_anonymous_is_sent_to_the_right_login(client):
    assert "/login" in client.get("/antraege").headers["Location"]
    assert "/staff/login" in client.get("/staff/posteingang").headers["Location"]
    assert "/staff/login" in client.get("/staff/statistik").headers["Location"]


def test_company_user_cannot_open_staff_pages(client, login_as):
    login_as("anna.becker")
    assert client.get("/staff/posteingang").status_code == 403
    assert client.get("/staff/statistik").status_code == 403
    assert client.get("/staff/admin/zustellungen").status_code == 403


def test_chamber_staff_cannot_open_statistics_or_company_pages(client, login_as):
    login_as("hwk.bremen", staff=True)
    assert client.get("/staff/statistik").status_code == 403
    assert client.get("/antraege").status_code == 403
    assert client.get("/staff/admin/zustellungen").status_code == 403


def test_steering_cannot_open_an_inbox(client, login_as):
    login_as("steering", staff=True)
    assert client.get("/staff/posteingang").status_code == 403
    assert client.get("/staff/statistik").status_code == 200


def test_admin_sees_delivery_overview(client, login_as):
    login_as("admin", staff=True)
    page = client.get("/staff/admin/zustellungen")
    assert page.status_code == 200 and "Handwerkskammer Bremen" in page.get_data(as_text=True)


def test_safe_next_only_allows_local_paths():
    from bizportal.auth.access import safe_next

    assert safe_next("/antraege?x=1") == "/antraege?x=1"
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/\\\\evil", "javascript:alert(1)",
                "/ok\r\nLocation: x", "", None):
        assert safe_next(bad) is None, bad
