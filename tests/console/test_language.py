from django.urls import reverse


def test_the_console_follows_the_browser_and_the_switch(client, viewer):
    client.force_login(viewer)
    assert "站点管理" in client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Site administration" in client.get(reverse("admin:index")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("admin:index")})
    assert "站点管理" in client.get(reverse("admin:index")).content.decode()
