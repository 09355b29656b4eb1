import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_logs_in_and_sees_the_console(logged_in_page, live_server):
    assert logged_in_page.title().startswith("Site administration")
    assert logged_in_page.locator("#site-name").inner_text() == "OrderSync operations"
    assert logged_in_page.get_by_role("link", name="Channels", exact=True).is_visible()


def test_a_wrong_password_is_refused_with_a_message(page, live_server, operator):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    assert "Please enter the correct username and password" in page.locator(".errornote").inner_text()
