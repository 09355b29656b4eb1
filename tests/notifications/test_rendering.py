"""Rendering without the database: languages, Babel formatting, tracking links, the translation catalogue, the
preview command and seed_demo's endpoint."""

import gettext
from io import StringIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.core.management import CommandError, call_command

import notifications
from notifications.events import EVENTS, supported_language
from notifications.management.commands.notification_preview import sample_payload
from notifications.rendering import RenderError, render_email, tracking_url
from sync.models import Endpoint

LOCALE = Path(notifications.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"


@pytest.mark.parametrize(("code", "expected"), [
    ("en", "en"), ("en-GB", "en"), ("EN_us", "en"), ("zh", "zh-hans"), ("zh-CN", "zh-hans"), ("zh-SG", "zh-hans"),
    ("zh-Hans", "zh-hans"), ("zh-TW", None), ("fr", None), ("", None), (None, None),
])
def test_customer_language_codes_map_to_the_languages_we_write(code, expected):
    assert supported_language(code) == expected


@pytest.mark.parametrize(("currency", "amount", "language", "expected"), [
    ("EUR", "24.90", "en", "€24.90"),
    ("EUR", "24.90", "zh-hans", "€24.90"),
    ("USD", "1234.50", "en", "$1,234.50"),
    ("JPY", "2490", "en", "¥2,490"),
    ("CNY", "24.90", "zh-hans", "¥24.90"),
    ("KWD", "24.900", "en", "KWD24.900"),  # three decimals only where the currency has them
])
def test_money_is_formatted_for_the_language_and_currency(currency, amount, language, expected):
    payload = {**sample_payload(language), "currency": currency, "total": amount}
    rendered = render_email(topic="order.paid", payload=payload, language=language, shop_name="S",
                            tracking_overrides={})
    assert expected in rendered.text and "24.900" not in rendered.text.replace("KWD24.900", "")


def test_tracking_links_quote_the_number_and_match_carriers_without_case():
    assert tracking_url(carrier="ups", tracking_number="1Z 99/9", overrides={}) == (
        "https://www.ups.com/track?tracknum=1Z%2099%2F9")
    assert tracking_url(carrier=" GLS ", tracking_number="7", overrides={"gls": "https://g.example/{tracking_number}"}
                        ) == "https://g.example/7"
    assert tracking_url(carrier="Unknown Post", tracking_number="7", overrides={}) == ""
    assert tracking_url(carrier="DHL", tracking_number="", overrides={}) == ""


def test_a_shipped_email_from_an_unknown_carrier_still_names_the_parcel():
    payload = {**sample_payload("en"), "carrier": "Local Courier"}
    rendered = render_email(topic="order.shipped", payload=payload, language="en", shop_name="S",
                            tracking_overrides={})
    assert "Local Courier" in rendered.text and "JD014600003442" in rendered.text
    assert "Track your parcel" not in rendered.text


def test_an_event_without_the_data_a_template_needs_is_a_render_error():
    payload = sample_payload("en")
    del payload["lines"]
    with pytest.raises(RenderError, match="cannot render order.created from this event: KeyError"):
        render_email(topic="order.created", payload=payload, language="en", shop_name="S", tracking_overrides={})


def test_every_event_renders_in_every_language_with_translated_text():
    for topic in EVENTS:
        english = render_email(topic=topic, payload=sample_payload("en"), language="en", shop_name="S",
                               tracking_overrides={})
        chinese = render_email(topic=topic, payload=sample_payload("zh-hans"), language="zh-hans", shop_name="S",
                               tracking_overrides={})
        assert "OS-2026-00042" in english.subject and "OS-2026-00042" in chinese.subject
        assert chinese.subject != english.subject and "订单" in chinese.text and "合计" in chinese.html
        assert "{%" not in english.text + english.html and "%(" not in chinese.text + chinese.html


def test_the_chinese_catalogue_is_complete_and_its_compiled_file_is_current():
    with open(LOCALE / "django.po", "rb") as po:
        catalog = read_po(po)
    messages = {m.id: m.string for m in catalog if m.id}
    assert messages and all(messages.values()), [k for k, v in messages.items() if not v]
    with open(LOCALE / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    assert {k: compiled.gettext(k) for k in messages} == messages


def test_the_preview_command_writes_html_and_text_and_says_what_to_do_without_a_target(tmp_path):
    out = StringIO()
    call_command("notification_preview", "--topic", "order.refunded", "--language", "zh-hans",
                 "--html", str(tmp_path / "m.html"), "--text", str(tmp_path / "m.txt"), stdout=out)
    assert "订单 OS-2026-00042 的退款" in out.getvalue()
    assert "€69.60" in (tmp_path / "m.txt").read_text() and 'lang="zh-hans"' in (tmp_path / "m.html").read_text()
    with pytest.raises(CommandError, match="Say where to write the preview"):
        call_command("notification_preview")


@pytest.mark.django_db
def test_seed_demo_creates_the_customer_email_endpoint_once(settings, tmp_path):
    settings.RUN_DIR = tmp_path
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    endpoint = Endpoint.objects.get(handler="notifications.email")
    assert endpoint.kind == "notification" and endpoint.url == ""
    assert set(endpoint.topics) == {*EVENTS, "notification.resend"}


def test_the_preview_command_screenshots_the_email_in_chromium(tmp_path):
    """How docs/notification-email-*.png are made (see docs/NOTIFICATIONS.md)."""
    png = tmp_path / "zh.png"
    call_command("notification_preview", "--language", "zh-hans", "--png", str(png), stdout=StringIO())
    header = png.read_bytes()[:24]
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and width == 680 and height > 900  # full page, not the viewport
