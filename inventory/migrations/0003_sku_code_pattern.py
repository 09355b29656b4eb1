"""SKU codes follow the one pattern of inventory/codes.py, 64 characters at most like an order line's `sku`.

Codes longer than that could never be ordered; the column cannot shrink while one exists, so the migration stops
and names them. Shorter codes outside the pattern are listed as a warning: they stay (stock and reservations keep
working) but the API refuses them, so create conforming SKUs and move the stock over.
"""

import re

import django.core.validators
from django.db import migrations, models

MAX_LENGTH = 64
PATTERN = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


def check_existing_codes(apps, schema_editor):
    Sku = apps.get_model("inventory", "Sku")
    codes = list(Sku.objects.values_list("code", flat=True))
    too_long = [code for code in codes if len(code) > MAX_LENGTH]
    if too_long:
        raise RuntimeError(
            f"{len(too_long)} SKU code(s) are longer than {MAX_LENGTH} characters and could never be ordered: "
            + ", ".join(repr(code[:80]) for code in too_long[:20])
            + ". Give them shorter codes (UPDATE inventory_sku SET code = … WHERE id = …; stock and the ledger refer to "
            "SKUs by id), then run migrate again."
        )
    odd = [code for code in codes if not PATTERN.match(code)]
    if odd:
        print(f"\n  warning: {len(odd)} SKU code(s) do not follow the SKU code pattern and cannot be ordered through "
              "the API: " + ", ".join(repr(code) for code in odd[:20]))


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0002_stock_feed_versions_lean_ledger'),
    ]

    operations = [
        migrations.RunPython(check_existing_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='sku',
            name='code',
            field=models.CharField(max_length=64, unique=True, validators=[django.core.validators.RegexValidator(re.compile('\\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\Z'), "Not a valid SKU code: a SKU code is 1–64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.", code='invalid')]),
        ),
    ]
