"""Renders a customer email from a sample order (or a real order's latest event) to HTML, text or a PNG, so
template changes and translations can be looked at before customers see them."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from notifications.events import EVENTS, LANGUAGES
from notifications.rendering import RenderError, render_email

CHROMIUM = "/usr/bin/chromium"


def sample_payload(language: str) -> dict:
    chinese = language == "zh-hans"
    return {
        "id": 1, "number": "OS-2026-00042", "channel": "webshop", "currency": "EUR", "language": language,
        "subtotal": "69.70", "shipping_total": "4.90", "tax_total": "14.17", "discount_total": "5.00",
        "total": "69.60", "placed_at": "2026-11-20T10:00:00+00:00",
        "customer": {"name": "李雷" if chinese else "Ada Lovelace", "email": "ada@example.com", "phone": ""},
        "shipping_address": (
            {"name": "李雷", "line1": "南京西路 1266 号", "city": "上海", "postal_code": "200040", "country": "CN"}
            if chinese else
            {"name": "Ada Lovelace", "line1": "12 Analytical Street", "city": "London", "postal_code": "N1 9GU",
             "country": "GB"}),
        "tracking_number": "JD014600003442", "carrier": "DHL",
        "lines": [
            {"id": 1, "sku": "TSHIRT-BLK-M", "name": "T-shirt black M", "quantity": 2, "unit_price": "19.90",
             "line_total": "39.80"},
            {"id": 2, "sku": "MUG-LOGO", "name": "Mug with logo", "quantity": 1, "unit_price": "29.90",
             "line_total": "29.90"},
        ],
    }


class Command(BaseCommand):
    help = "Render a customer email from a sample order to --html, --text and/or --png (Chromium) files."

    def add_arguments(self, parser):
        parser.add_argument("--topic", default="order.shipped", choices=list(EVENTS))
        parser.add_argument("--language", default="en", choices=list(LANGUAGES))
        parser.add_argument("--shop-name", default="Demo Shop")
        parser.add_argument("--html", type=Path, help="write the inlined HTML here")
        parser.add_argument("--text", type=Path, help="write the plain-text part here")
        parser.add_argument("--png", type=Path, help="write a screenshot here (needs Playwright and Chromium)")

    def handle(self, *args, topic, language, shop_name, html, text, png, **options):
        if not (html or text or png):
            raise CommandError("Say where to write the preview: --html FILE, --text FILE and/or --png FILE.")
        try:
            rendered = render_email(topic=topic, payload=sample_payload(language), language=language,
                                    shop_name=shop_name, tracking_overrides={})
        except RenderError as exc:
            raise CommandError(f"{exc}. Fix the template and run this again.") from exc
        if html:
            html.write_text(rendered.html)
        if text:
            text.write_text(rendered.text)
        if png:
            screenshot(rendered.html, png)
        self.stdout.write(f"{topic} ({language}): {rendered.subject}")


def screenshot(html: str, path: Path) -> None:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        raise CommandError("--png needs Playwright: pip install -r requirements-dev.txt") from exc
    if not Path(CHROMIUM).exists():
        raise CommandError(f"--png needs Chromium at {CHROMIUM}: apt-get install chromium fonts-noto-cjk")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 680, "height": 900}, device_scale_factor=1)
            page.set_content(html, wait_until="load")
            page.screenshot(path=str(path), full_page=True)
            browser.close()
    except Error as exc:
        raise CommandError(f"Chromium could not render the preview ({exc}).") from exc
