"""Rules in admin: edits go through rule_save (audited), bad input shows the field's error and stores nothing."""

import pytest
from django.urls import reverse

from compliance.models import ComplianceHold, ComplianceRule, RuleChange
from orders.fsm import Status
from orders.models import Order
from tests.compliance.conftest import ingest

pytestmark = pytest.mark.django_db
ADD = reverse("admin:compliance_compliancerule_add")


def form(**values):
    base = {"name": "r", "kind": "blocked_country", "active": "on", "sku": "", "countries": "[]",
            "max_quantity": "", "currency": "", "threshold": "", "required_fields": "[]",
            "changes-TOTAL_FORMS": "0", "changes-INITIAL_FORMS": "0"}
    return {**base, **values}


def test_admin_add_and_change_write_audit_rows(client, officer):
    client.force_login(officer)
    response = client.post(ADD, form(countries='["US", "CA"]'))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = ComplianceRule.objects.get()
    change = reverse("admin:compliance_compliancerule_change", args=[rule.pk])
    assert client.post(change, form(countries='["US"]')).status_code == 302
    rows = list(RuleChange.objects.order_by("id"))
    assert [r.version for r in rows] == [1, 2] and rows[1].changes == {"countries": [["US", "CA"], ["US"]]}
    assert rows[1].user == officer


@pytest.mark.parametrize(("values", "field"), [
    ({"countries": '["XX"]'}, "countries"),
    ({"kind": "value_review", "currency": "EUR", "threshold": "abc"}, "threshold"),
    ({"kind": "value_review", "currency": "EUR", "threshold": "-5"}, "threshold"),
    ({"kind": "required_fields", "required_fields": '["phone", "ssn"]'}, "required_fields"),
])
def test_admin_refuses_a_bad_rule_naming_the_field(client, officer, values, field):
    client.force_login(officer)
    response = client.post(ADD, form(**values))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not ComplianceRule.objects.exists() and not RuleChange.objects.exists()


def test_rules_cannot_be_deleted_in_admin(client, officer, make_rule):
    rule = make_rule("blocked_country", countries=["US"])
    client.force_login(officer)
    response = client.post(reverse("admin:compliance_compliancerule_delete", args=[rule.pk]), {"post": "yes"})
    assert response.status_code == 403 and ComplianceRule.objects.exists()


def test_hold_changelist_release_action_needs_a_reason(client, officer, make_rule, channel, skus):
    make_rule("blocked_country", countries=["GB"])
    order = ingest(channel)
    assert order.status == Status.ON_HOLD
    client.force_login(officer)
    url = reverse("admin:compliance_compliancehold_changelist")
    hold = ComplianceHold.objects.get()
    client.post(url, {"action": "release", "_selected_action": [hold.pk], "reason": ""})
    assert Order.objects.get().status == Status.ON_HOLD
    client.post(url, {"action": "release", "_selected_action": [hold.pk], "reason": "export licence checked"})
    hold.refresh_from_db()
    assert Order.objects.get().status == Status.NEW
    assert (hold.decision, hold.decided_by, hold.decision_reason) == ("released", officer, "export licence checked")


def test_hold_changelist_queries_do_not_grow(client, officer, make_rule, channel, skus,
                                             django_assert_max_num_queries):
    make_rule("blocked_country", countries=["GB"])
    for _ in range(8):
        ingest(channel)
    client.force_login(officer)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("admin:compliance_compliancehold_changelist")).status_code == 200
