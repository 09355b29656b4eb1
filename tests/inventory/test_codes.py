"""The one SKU code pattern: what it accepts, how every door applies it, and that demo and test data follow it."""

import re

import pytest
from django.core.exceptions import ValidationError

from channels_integration.management.commands.seed_demo import DEMO_SKUS
from inventory.codes import SKU_CODE_MAX_LENGTH, SKU_CODE_SCHEMA_PATTERN, is_sku_code, sku_code_problem
from inventory.models import Sku
from inventory.services import InvalidSkuCode, sku_upsert
from tests.orders.factories import order_body

GOOD = ["TSHIRT-BLK-M", "a", "9", "SKU_1.2-x", "L" * SKU_CODE_MAX_LENGTH]
BAD = ["", " ", "A B", "A ", " A", "-A", ".A", "_A", "A/B", "A\n", "A\x00", "A\u200bB", "A\u202eB", "\u0410BC",
       "<b>A</b>", "A&amp;", "L" * (SKU_CODE_MAX_LENGTH + 1), "\uff21", "A\u00a0B", "١٠"]


@pytest.mark.parametrize("code", GOOD)
def test_codes_that_follow_the_pattern(code):
    assert is_sku_code(code) and sku_code_problem(code) is None


@pytest.mark.parametrize("code", BAD)
def test_codes_that_do_not(code):
    assert not is_sku_code(code)
    assert "SKU code" in sku_code_problem(code)


def test_the_problem_never_echoes_the_input():
    assert len(sku_code_problem("X" * 100_000)) < 200


@pytest.mark.parametrize("code", GOOD + BAD)
def test_the_schema_pattern_agrees_with_the_python_one(code):
    # ECMA-262 `$` is the end of the string; Python's also matches before a final newline, hence fullmatch.
    assert bool(re.fullmatch(SKU_CODE_SCHEMA_PATTERN.strip("^$"), code)) == is_sku_code(code)


def test_non_strings_are_not_codes():
    assert sku_code_problem(12) == "must be a string."
    assert sku_code_problem(None) == "must be a string."


def test_demo_and_test_data_follow_the_pattern():
    assert all(is_sku_code(code) for code, *_ in DEMO_SKUS)
    assert all(is_sku_code(line["sku"]) for line in order_body()["lines"])


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["A B", "L" * (SKU_CODE_MAX_LENGTH + 1), "A\x00"])
def test_every_door_refuses_them(code):
    with pytest.raises(InvalidSkuCode):
        sku_upsert(code=code, name="x", actor="t")
    with pytest.raises(ValidationError):
        Sku(code=code, name="x").full_clean()
    assert not Sku.objects.exists()
