import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `apt-get install chromium` (make test does, as root).")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop current in this thread, which trips Django's async-safety guard on
    # every ORM call the test itself makes. Allow it only while the browser lives, so nothing else inherits it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


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
