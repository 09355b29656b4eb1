import pytest

from tests.harness.browser import chromium


@pytest.fixture(scope="package")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def operator(django_user_model):
    password = "correct-horse-battery-staple"
    user = django_user_model.objects.create_superuser("operator", "operator@example.com", password)
    user.raw_password = password
    return user


@pytest.fixture
def logged_in_page(page, live_server, operator):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", operator.raw_password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page
