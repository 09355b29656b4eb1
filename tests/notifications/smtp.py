"""A real SMTP server on 127.0.0.1 (aiosmtpd, in a thread) that records what it accepts and answers as told.

    smtp_server.messages                          # every accepted message, parsed (email.message.EmailMessage)
    smtp_server.script(["451 4.3.0 busy", "accept"])   # one answer per DATA, then the default (accept)
    smtp_server.default = "554 5.7.1 refused"     # answer everything with this
    smtp_server.script([Hang(3)])                  # store the message, answer 250 only after 3 s
    smtp_server.on_message.append(fn)             # runs once a message is stored, before the answer is sent
    smtp_server.stop(); smtp_server.start()       # an outage on the same port
"""

import asyncio
import email
import email.policy
import logging
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller

from tests.harness.http_server import free_port


@dataclass(frozen=True)
class Hang:
    seconds: float


ACCEPT = "accept"
# aiosmtpd logs every SMTP command at INFO; failures of a test are easier to read without them.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _Handler:
    def __init__(self, server: "SMTPServer"):
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        answer = self.server.next_answer()
        if isinstance(answer, str) and answer != ACCEPT:
            with self.server.lock:
                self.server.refused += 1
            return answer
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(message)
        for callback in list(self.server.on_message):
            callback(message)
        if isinstance(answer, Hang):  # the message is stored; the answer comes late (or never reaches the client)
            await asyncio.sleep(answer.seconds)
        return "250 2.0.0 OK: queued"


class SMTPServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.messages: list[email.message.EmailMessage] = []
        self.refused = 0
        self.default: str | Hang = ACCEPT
        self._script: list = []
        self.on_message: list = []
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def script(self, answers: list) -> None:
        with self.lock:
            self._script = list(answers)

    def next_answer(self):
        with self.lock:
            return self._script.pop(0) if self._script else self.default

    def start(self) -> "SMTPServer":
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> int:
        with self.lock:
            return len(self.messages)

    def by_notification(self) -> dict[str, list]:
        """Accepted messages grouped by our X-OrderSync-Notification header (row id): exactly-once checks."""
        grouped: dict[str, list] = {}
        with self.lock:
            for message in self.messages:
                grouped.setdefault(message["X-OrderSync-Notification"], []).append(message)
        return grouped


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
