"""Turns an order event into the customer's email: language, Babel-formatted money and dates, tracking link,
per-event templates (plain text + HTML) rendered under Django's translation machinery, CSS inlined for mail
clients. Pure: no database access, so it runs the same in a worker thread, in admin and in the benchmark."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import css_inline
from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_date
from babel.numbers import UnknownCurrencyError, format_currency
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import translation

from notifications.events import DEFAULT_TRACKING_URLS, EVENTS, FALLBACK_LANGUAGE, supported_language

# Inlining never fetches remote stylesheets: the templates carry their CSS in <style>.
_inliner = css_inline.CSSInliner(load_remote_stylesheets=False)


class RenderError(Exception):
    """The message cannot be rendered from this event (a template or data error); retrying will not help."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def choose_language(*, order_language: str | None, channel_language: str | None) -> str:
    """The order's language if we write it, else the channel's default, else English."""
    return supported_language(order_language) or supported_language(channel_language) or FALLBACK_LANGUAGE


def tracking_url(*, carrier: str, tracking_number: str, overrides: dict[str, str]) -> str:
    """The carrier's tracking page for this parcel, or "" when the carrier has no known template."""
    if not tracking_number:
        return ""
    templates = {**DEFAULT_TRACKING_URLS, **{k.strip().lower(): v for k, v in overrides.items()}}
    template = templates.get(carrier.strip().lower())
    return template.format(tracking_number=quote(tracking_number, safe="")) if template else ""


def _money(value: str, currency: str, locale: Locale) -> str:
    return format_currency(Decimal(value), currency, locale=locale)


def _address(address: dict, locale: Locale) -> list[str]:
    country = address.get("country", "")
    lines = [address.get("name", ""), address.get("line1", ""), address.get("line2", ""),
             " ".join(p for p in (address.get("postal_code", ""), address.get("city", "")) if p),
             locale.territories.get(country.upper(), country) if country else ""]
    return [line for line in lines if line]


def email_context(*, payload: dict, language: str, shop_name: str, tracking_overrides: dict[str, str]) -> dict:
    locale = Locale.parse(translation.to_locale(language))
    cur = payload["currency"]
    placed = datetime.fromisoformat(payload["placed_at"])
    return {
        "language": language,
        "shop_name": shop_name,
        "number": payload["number"],
        "customer_name": payload["customer"].get("name") or "",
        "placed_on": format_date(placed.date(), format="long", locale=locale),
        "lines": [
            {"name": line["name"], "sku": line["sku"], "quantity": line["quantity"],
             "unit_price": _money(line["unit_price"], cur, locale),
             "line_total": _money(line["line_total"], cur, locale)}
            for line in payload["lines"]
        ],
        "subtotal": _money(payload["subtotal"], cur, locale),
        "shipping_total": _money(payload["shipping_total"], cur, locale),
        "tax_total": _money(payload["tax_total"], cur, locale),
        "discount_total": _money(payload["discount_total"], cur, locale) if Decimal(payload["discount_total"]) else "",
        "total": _money(payload["total"], cur, locale),
        "shipping_address": _address(payload.get("shipping_address") or {}, locale),
        "carrier": payload.get("carrier") or "",
        "tracking_number": payload.get("tracking_number") or "",
        "tracking_url": tracking_url(carrier=payload.get("carrier") or "", overrides=tracking_overrides,
                                     tracking_number=payload.get("tracking_number") or ""),
    }


def render_email(*, topic: str, payload: dict, language: str, shop_name: str,
                 tracking_overrides: dict[str, str]) -> RenderedEmail:
    """Raises RenderError with a readable reason when a template or the event's data cannot be rendered."""
    spec = EVENTS[topic]
    try:
        with translation.override(language):
            context = email_context(payload=payload, language=language, shop_name=shop_name,
                                    tracking_overrides=tracking_overrides)
            subject = str(spec.subject) % {"number": payload["number"]}
            context["subject"] = subject
            text = render_to_string(f"notifications/email/{spec.template}.txt", context)
            html = render_to_string(f"notifications/email/{spec.template}.html", context)
    except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
        raise RenderError(f"template error in {spec.template} ({language}): {exc}") from exc
    except (KeyError, TypeError, ValueError, InvalidOperation, UnknownCurrencyError, UnknownLocaleError) as exc:
        raise RenderError(f"cannot render {topic} from this event: {type(exc).__name__}: {exc}") from exc
    return RenderedEmail(subject=subject, text=_tidy_text(text), html=_inliner.inline(html))


def _tidy_text(text: str) -> str:
    """Template tags leave blank runs behind; mail clients show them, so collapse to one blank line."""
    lines, blank = [], False
    for line in text.strip().splitlines():
        line = line.rstrip()
        if not line:
            if not blank:
                lines.append("")
            blank = True
            continue
        lines.append(line)
        blank = False
    return "\n".join(lines) + "\n"
