"""Hands one message at a time to Django's configured mail backend and says whether the server took it.

Each worker thread keeps its backend connection open between messages (connect, EHLO, STARTTLS and AUTH once,
not per message) and closes it after IDLE_SECONDS without use. A kept connection the server has meanwhile
dropped fails before the message goes out, so that case alone is tried once more on a fresh connection.

What matters for "never twice" is *when* a failure happened. Before the DATA phase nothing reached the server:
the caller may retry. A refusal code is the server saying no: retry too. A timeout or drop after the message
went out is ambiguous — the server may have queued it — and is reported as such, like a worker dying there.
"""

import contextlib
import smtplib
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class SendOutcome:
    error: str = ""
    ambiguous: bool = False  # the server may have the message although we saw no answer


class _KeptConnection:
    def __init__(self, key: tuple, timeout: float):
        self.key = key
        self.backend = get_connection(timeout=timeout)
        self.used_at = time.monotonic()
        self.handed_over = False
        self._watched = None

    @property
    def is_open(self) -> bool:
        return getattr(self.backend, "connection", None) is not None

    def open(self) -> None:
        """Opens if needed and notes when smtplib starts the DATA phase (everything before it is safe)."""
        self.backend.open()
        smtp = getattr(self.backend, "connection", None)
        if smtp is None or smtp is self._watched:
            return
        data = smtp.data

        def data_noting_handover(msg):
            self.handed_over = True
            return data(msg)

        smtp.data = data_noting_handover
        self._watched = smtp

    def close(self) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.backend.close()
        self._watched = None


_local = threading.local()


def _connection(timeout: float) -> _KeptConnection:
    key = (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER, timeout)
    kept = getattr(_local, "kept", None)
    if kept is not None and (kept.key != key or time.monotonic() - kept.used_at > IDLE_SECONDS):
        kept.close()
        kept = None
    if kept is None:
        kept = _local.kept = _KeptConnection(key, timeout)
    return kept


def _forget(kept: _KeptConnection) -> None:
    kept.close()
    if getattr(_local, "kept", None) is kept:
        _local.kept = None


def send(message: EmailMessage, *, timeout: float) -> SendOutcome:
    outcome = _try(message, timeout=timeout, may_be_stale=True)
    return outcome if outcome is not None else _try(message, timeout=timeout, may_be_stale=False)


def _try(message: EmailMessage, *, timeout: float, may_be_stale: bool) -> SendOutcome | None:
    """None when a kept connection turned out stale before anything was sent: try again on a fresh one."""
    kept = _connection(timeout)
    reused = kept.is_open
    kept.handed_over = False
    try:
        kept.open()
        if kept.backend.send_messages([message]) != 1:
            return SendOutcome(error="the mail backend did not accept the message")
    except smtplib.SMTPResponseException as exc:  # the server answered with a refusal: it did not take it
        _forget(kept)
        return SendOutcome(error=f"{type(exc).__name__}: {exc.smtp_code} {exc.smtp_error!r}")
    except (smtplib.SMTPException, OSError) as exc:
        _forget(kept)
        if reused and may_be_stale and not kept.handed_over:
            return None
        return SendOutcome(error=f"{type(exc).__name__}: {exc}", ambiguous=kept.handed_over)
    kept.used_at = time.monotonic()
    return SendOutcome()
