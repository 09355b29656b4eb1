"""Currencies we accept and how many decimals each allows (ISO 4217 minor units)."""

from decimal import Decimal

CURRENCY_EXPONENTS = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2,
    "CAD": 2, "AUD": 2, "NZD": 2, "CNY": 2, "INR": 2, "BRL": 2, "MXN": 2, "ZAR": 2, "TRY": 2, "SGD": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fits_currency(value: Decimal, currency: str) -> bool:
    return decimals_of(value) <= CURRENCY_EXPONENTS[currency]


def quantize(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-CURRENCY_EXPONENTS.get(currency, 2)))


def money_str(value: Decimal, currency: str) -> str:
    return str(quantize(Decimal(value), currency))
