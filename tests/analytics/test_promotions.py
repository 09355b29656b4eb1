from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from analytics.models import Promotion
from analytics.services import promotion_create

pytestmark = pytest.mark.django_db
START = datetime(2026, 12, 5, 8, tzinfo=UTC)


@pytest.mark.parametrize("changes, field", [
    ({"ends_at": START - timedelta(hours=1)}, "ends_at"),
    ({"ends_at": START}, "ends_at"),
    ({"ends_at": START + timedelta(days=90)}, "ends_at"),
    ({"uplift_percent": 5000}, "uplift_percent"),
    ({"uplift_percent": 0}, "uplift_percent"),
])
def test_a_promotion_that_cannot_be_right_is_refused_naming_the_field(changes, field):
    values = {"name": "Black Friday", "starts_at": START, "ends_at": START + timedelta(days=1),
              "uplift_percent": 80} | changes
    with pytest.raises(ValidationError) as raised:
        promotion_create(**values)
    assert field in raised.value.message_dict
    assert not Promotion.objects.exists()


def test_the_database_refuses_an_end_before_the_start_even_past_the_service():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Promotion.objects.create(name="x", starts_at=START, ends_at=START - timedelta(hours=1), uplift_percent=10)


def _form(**changes):
    data = {"name": "Weekend sale", "starts_at_0": "2026-12-05", "starts_at_1": "08:00:00",
            "ends_at_0": "2026-12-06", "ends_at_1": "23:00:00", "uplift_percent": "60", "channel": ""}
    return data | changes


def test_admin_refuses_an_end_before_the_start_on_the_end_field_and_saves_nothing(admin_client):
    response = admin_client.post(reverse("admin:analytics_promotion_add"), _form(ends_at_0="2026-12-04"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"ends_at": ["The end must be after the start."]}
    assert not Promotion.objects.exists()


def test_admin_refuses_an_absurd_uplift_on_its_field(admin_client):
    response = admin_client.post(reverse("admin:analytics_promotion_add"), _form(uplift_percent="5000"))
    assert "uplift_percent" in response.context["adminform"].form.errors
    assert not Promotion.objects.exists()


def test_admin_saves_a_valid_promotion_for_one_channel(admin_client, channel):
    response = admin_client.post(reverse("admin:analytics_promotion_add"), _form(channel=str(channel.pk)))
    assert response.status_code == 302
    promo = Promotion.objects.get()
    assert (promo.channel, promo.uplift_percent, promo.factor) == (channel, 60, 1.6)


def test_admin_deletes_through_the_service(admin_client):
    promo = promotion_create(name="x", starts_at=START, ends_at=START + timedelta(hours=5), uplift_percent=10)
    response = admin_client.post(reverse("admin:analytics_promotion_delete", args=[promo.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Promotion.objects.exists()


@pytest.mark.parametrize("count", [1, 15])
def test_promotion_changelist_query_count_does_not_grow_with_rows(admin_client, channel, count,
                                                                  django_assert_max_num_queries):
    for n in range(count):
        promotion_create(name=f"p{n}", starts_at=START + timedelta(days=n), ends_at=START + timedelta(days=n, hours=5),
                         uplift_percent=10, channel=channel if n % 2 else None)
    with django_assert_max_num_queries(9):
        response = admin_client.get(reverse("admin:analytics_promotion_changelist"))
    assert response.status_code == 200 and f"p{count - 1}" in response.content.decode()
