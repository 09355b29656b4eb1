"""Channel allocations (which channels may sell a restricted SKU, and how many units each may hold), the
reservation's channel and allocation, and the catalog audit trail."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('channels_integration', '0001_initial'),
        ('inventory', '0003_sku_code_pattern'),
    ]

    operations = [
        migrations.AddField(
            model_name='reservation',
            name='allocation_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='reservation',
            name='channel_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='sku',
            name='restricted',
            field=models.BooleanField(default=False, help_text='Only channels with an allocation for this SKU may sell it; to every other channel it does not exist.'),
        ),
        migrations.CreateModel(
            name='ChannelAllocation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cap', models.PositiveIntegerField(blank=True, help_text="At most this many units held by the channel's open (unshipped) orders at once; empty: no cap.", null=True, validators=[django.core.validators.MaxValueValidator(2147483647)])),
                ('reserved', models.PositiveIntegerField(default=0, help_text="Units the channel's open orders hold now.")),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('channel', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stock_allocations', to='channels_integration.channel')),
                ('sku', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='inventory.sku')),
            ],
            options={
                'ordering': ['sku_id', 'channel_id'],
                'constraints': [models.UniqueConstraint(fields=('channel', 'sku'), name='allocation_channel_sku_unique'), models.CheckConstraint(condition=models.Q(('reserved__gte', 0)), name='allocation_reserved_not_negative')],
            },
        ),
        migrations.CreateModel(
            name='SkuChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('actor', models.CharField(max_length=100)),
                ('changes', models.JSONField(help_text='{field: [before, after]}; before is null when the SKU was created.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('sku', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='changes', to='inventory.sku')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['sku', '-created_at'], name='skuchange_sku_time_idx')],
            },
        ),
    ]
