"""Production URLs plus the baseline: a bare DRF endpoint (same auth, scope check, throttle and JSON parser as
POST /orders/) that inserts the request body as one row. Only the bench server loads this URLconf."""

import json

from django.db import connection
from django.urls import path
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ordersync.urls import urlpatterns as production_urlpatterns

BASELINE_TABLE = "bench_orders_baseline"


class InsertOneRow(APIView):
    required_scopes = ["orders:write"]  # throttled by the default throttle, like every API view

    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {BASELINE_TABLE} (body) VALUES (%s) RETURNING id", [json.dumps(request.data)])
            row_id = cursor.fetchone()[0]
        return Response({"id": row_id}, status=status.HTTP_201_CREATED)


urlpatterns = [path("bench/insert-one/", InsertOneRow.as_view()), *production_urlpatterns]
