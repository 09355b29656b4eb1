"""A guard for a kombu Redis-transport crash that stops a worker when Redis restarts at the wrong moment.

On a lost broker connection Celery's consumer calls `Connection.collect()`, then `Connection.close()`. When
Redis drops while the channel is in a BRPOP, `collect()` fails to close the channel (a connection error it
swallows) but still detaches the transport (`transport.client = None`). `close()` then closes that channel again,
which restores the unacknowledged messages through a new Redis client built from `transport.client`:
`AttributeError: 'NoneType' object has no attribute 'hostname'`, which Celery treats as unrecoverable and the
worker exits (seen in tests/resilience/test_broker_outage.py; kombu 5.7.0, celery 5.7.0).

Raising the Redis connection error instead lets kombu's own error handling take over: the close is abandoned
as for any dead connection, the worker reconnects, and the unacknowledged messages stay in Redis's unacked set,
from where the visibility timeout restores them (our outbox sweep re-sends anything Redis lost anyway).
"""

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

_connparams = kombu_redis.Channel._connparams


def _connparams_or_connection_error(self, asynchronous=False):
    if self.connection.client is None:
        raise RedisConnectionError("the broker connection was already closed (kombu transport detached)")
    return _connparams(self, asynchronous=asynchronous)


def install() -> None:
    kombu_redis.Channel._connparams = _connparams_or_connection_error
