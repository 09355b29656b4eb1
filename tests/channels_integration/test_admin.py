"""Channel and SKU mapping admin: secrets shown as prefixes only; mappings edited through the service."""

import pytest
from django.urls import reverse

from channels_integration.models import SkuMapping
from channels_integration.services import sku_mapping_upsert

pytestmark = pytest.mark.django_db


def test_the_channel_page_shows_secret_prefixes_only(admin_client, shop):
    html = admin_client.get(reverse("admin:channels_integration_channel_change", args=[shop.pk])).content.decode()
    assert "shpss_…" in html and shop.webhook_secret not in html


def test_channel_and_mapping_lists_have_bounded_queries(admin_client, shop, django_assert_max_num_queries):
    for i in range(15):
        sku_mapping_upsert(channel=shop, sku_code=f"S-{i}", inventory_item_id=i + 1, location_id=1)
    with django_assert_max_num_queries(8):
        assert admin_client.get(reverse("admin:channels_integration_skumapping_changelist")).status_code == 200
    with django_assert_max_num_queries(8):
        assert admin_client.get(reverse("admin:channels_integration_channel_changelist")).status_code == 200


def test_a_mapping_added_in_admin_goes_through_the_service_and_its_rules(admin_client, shop, woo):
    url = reverse("admin:channels_integration_skumapping_add")
    refused = admin_client.post(url, {"channel": shop.pk, "sku_code": "A", "inventory_item_id": "5"})
    assert refused.status_code == 200 and "required for Shopify" in refused.content.decode()
    assert not SkuMapping.objects.exists()
    added = admin_client.post(url, {"channel": woo.pk, "sku_code": "A", "product_id": "22", "variant_id": "23"})
    assert added.status_code == 302
    assert SkuMapping.objects.get(channel=woo, sku_code="A").variant_id == 23
