"""A worker whose Redis connection drops mid-BRPOP must reconnect, not exit: closing the channel a second time,
after `Connection.collect()` detached the transport, raises a connection error kombu handles, and the
unacknowledged message stays in Redis's unacked set for the visibility timeout to restore."""

import uuid

import kombu
import pytest
import redis
from django.conf import settings

pytestmark = pytest.mark.needs_broker


@pytest.fixture
def connection():
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis"):
        pytest.fail(f"this test needs the Redis broker, CELERY_BROKER_URL is {url}")
    conn = kombu.Connection(url)
    yield conn
    conn.release()


def test_closing_a_channel_after_the_transport_was_detached_is_a_connection_error_not_a_crash(connection):
    queue = kombu.Queue(f"guard-{uuid.uuid4().hex[:8]}")
    channel = connection.default_channel
    connection.Producer(channel=channel).publish({"n": 1}, routing_key=queue.name, declare=[queue])
    received = []
    connection.Consumer([queue], callbacks=[lambda body, message: received.append(message)], channel=channel).consume()
    connection.drain_events(timeout=5)
    assert len(received) == 1 and len(channel.qos._delivered) == 1  # delivered, not acknowledged

    # The state the worker's traceback shows after collect(): the channel still open with its message unacked,
    # its connection pool dropped, the transport detached from the connection.
    channel._disconnect_pools()
    connection._do_close_transport()

    with pytest.raises(redis.exceptions.ConnectionError, match="already closed"):
        channel.qos.restore_unacked()
    connection.close()  # kombu ignores connection errors while closing; an AttributeError here stopped the worker

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        assert client.hexists("unacked", received[0].delivery_tag)
    finally:
        client.hdel("unacked", received[0].delivery_tag)
        client.zrem("unacked_index", received[0].delivery_tag)
        client.delete(queue.name)
