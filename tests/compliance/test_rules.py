"""Rules are data: a rule that cannot be evaluated is refused on save with the field named; every save is audited."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from compliance.models import ComplianceRule, RuleChange
from compliance.services import rule_save

pytestmark = pytest.mark.django_db
K = ComplianceRule.Kind

BAD = [
    (dict(kind=K.BLOCKED_COUNTRY, countries=["XX"]), "countries"),
    (dict(kind=K.BLOCKED_COUNTRY, countries="US"), "countries"),
    (dict(kind=K.BLOCKED_COUNTRY, countries=["us"]), "countries"),
    (dict(kind=K.BLOCKED_COUNTRY), "countries"),
    (dict(kind=K.BLOCKED_COUNTRY, countries=["US"], sku="bad sku!"), "sku"),
    (dict(kind=K.BLOCKED_COUNTRY, countries=["US"], threshold=Decimal("5")), "threshold"),
    (dict(kind=K.MAX_QUANTITY, max_quantity=3), "sku"),
    (dict(kind=K.MAX_QUANTITY, sku="SKU-A"), "max_quantity"),
    (dict(kind=K.MAX_QUANTITY, sku="SKU-A", max_quantity=0), "max_quantity"),
    (dict(kind=K.VALUE_REVIEW, currency="EUR"), "threshold"),
    (dict(kind=K.VALUE_REVIEW, currency="XYZ", threshold=Decimal("10")), "currency"),
    (dict(kind=K.VALUE_REVIEW, currency="EUR", threshold=Decimal("-1")), "threshold"),
    (dict(kind=K.VALUE_REVIEW, currency="JPY", threshold=Decimal("10.5")), "threshold"),
    (dict(kind=K.REQUIRED_FIELDS, required_fields=["shoe_size"]), "required_fields"),
    (dict(kind=K.REQUIRED_FIELDS, required_fields=["phone"], countries=["ZZ"]), "countries"),
    (dict(kind=K.REQUIRED_FIELDS), "required_fields"),
    (dict(kind=K.AGE_RESTRICTED), "sku"),
    (dict(kind="nonsense"), "kind"),
]


@pytest.mark.parametrize(("params", "field"), BAD, ids=[f"{p['kind']}-{f}" for p, f in BAD])
def test_a_bad_rule_is_refused_naming_the_field(officer, params, field):
    with pytest.raises(ValidationError) as info:
        rule_save(rule=ComplianceRule(name="bad", **params), user=officer)
    assert field in info.value.message_dict
    assert not ComplianceRule.objects.exists() and not RuleChange.objects.exists()


def test_creating_and_editing_a_rule_is_audited_with_who_and_what(officer, make_rule):
    rule = make_rule(K.MAX_QUANTITY, sku="SKU-A", max_quantity=5)
    rule.max_quantity = 3
    rule_save(rule=rule, user=officer)
    rule_save(rule=rule, user=officer)  # nothing changed: no audit row, no new version
    changes = list(RuleChange.objects.filter(rule=rule).order_by("id"))
    assert [c.version for c in changes] == [1, 2]
    assert changes[0].changes["max_quantity"] == [None, 5]
    assert changes[1].changes == {"max_quantity": [5, 3]}
    assert {c.actor for c in changes} == {"user:officer"} and changes[1].user == officer
    assert ComplianceRule.objects.get().version == 2


def test_a_refused_edit_changes_nothing(officer, make_rule):
    rule = make_rule(K.VALUE_REVIEW, currency="EUR", threshold=Decimal("100"))
    rule.currency = "JPY"
    rule.threshold = Decimal("0.5")
    with pytest.raises(ValidationError) as info:
        rule_save(rule=rule, user=officer)
    assert "threshold" in info.value.message_dict
    stored = ComplianceRule.objects.get()
    assert (stored.currency, stored.version, RuleChange.objects.count()) == ("EUR", 1, 1)
