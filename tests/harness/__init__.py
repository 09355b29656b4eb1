"""Shared test harness: real Celery worker processes and real local HTTP servers (see celery_worker, http_server)."""
