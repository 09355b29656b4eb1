from django.urls import reverse


def test_the_console_follows_the_browser_and_the_switch(client, viewer):
    client.force_login(viewer)
    assert "站点管理" in client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Site administration" in client.get(reverse("admin:index")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("admin:index")})
    assert "站点管理" in client.get(reverse("admin:index")).content.decode()


def test_the_dashboard_in_chinese_shows_the_consoles_and_djangos_translations(client, viewer):
    client.force_login(viewer)
    body = client.get(reverse("console-dashboard"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "需要处理" in body and "失败的投递" in body  # the console's own catalogue (locale/zh_Hans)
    assert "首页" in body and "注销" in body  # Django admin's: Home, Log out
    english = client.get(reverse("console-dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Needs attention" in english and "需要处理" not in english


def test_the_landing_page_in_chinese(client, db):
    assert "运维控制台" in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
