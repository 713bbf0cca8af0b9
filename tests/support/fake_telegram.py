"""A local server that speaks enough of the Telegram Bot API for the command bot's tests.

python-telegram-bot takes a ``base_url``, so the bot under test long-polls this server
instead of api.telegram.org. A test scripts what a person types (:meth:`say`) or
presses (:meth:`press`) and reads what the bot sent back (:meth:`wait_sent`), with the
parameters it used (``parse_mode``, ``reply_markup``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

TOKEN = "123456:TEST-token-not-real"


@dataclass(frozen=True)
class Sent:
    chat_id: int
    text: str
    params: dict[str, Any]


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-poll (the bot stopping) is not an error here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class FakeTelegram:
    def __init__(self, port: int = 0) -> None:
        self.updates: list[dict[str, Any]] = []
        self.sent: list[Sent] = []
        self.calls: list[str] = []
        self._next = 1
        self._cond = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                method = self.path.rsplit("/", 1)[-1]
                params = api.params(raw, self.headers.get("content-type", ""))
                body = json.dumps({"ok": True, "result": api.answer(method, params)}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="fake-telegram")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @staticmethod
    def params(raw: bytes, kind: str) -> dict[str, Any]:
        if not raw:
            return {}
        if "json" in kind:
            loaded: dict[str, Any] = json.loads(raw)
            return loaded
        found = {}
        for key, values in parse_qs(raw.decode(), keep_blank_values=True).items():
            try:
                found[key] = json.loads(values[0])
            except ValueError:
                found[key] = values[0]
        return found

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        self.calls.append(method)
        if method == "getMe":
            return {"id": 42, "is_bot": True, "first_name": "QE", "username": "qe_test_bot",
                    "can_join_groups": False, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        if method == "getUpdates":
            return self._updates(int(params.get("offset") or 0),
                                 min(float(params.get("timeout") or 0), 0.5))
        if method == "sendMessage":
            with self._cond:
                self.sent.append(Sent(int(params["chat_id"]), str(params["text"]), params))
                self._cond.notify_all()
            return {"message_id": 1000 + len(self.sent), "date": int(time.time()),
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "text": params["text"]}
        return True

    def _updates(self, offset: int, wait_s: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                ready = [u for u in self.updates if u["update_id"] >= offset]
                if ready or time.monotonic() >= deadline:
                    return ready
                self._cond.wait(deadline - time.monotonic())

    def _push(self, update: dict[str, Any]) -> None:
        with self._cond:
            update["update_id"] = self._next
            self._next += 1
            self.updates.append(update)
            self._cond.notify_all()

    def say(self, chat_id: int, text: str, user: str = "ana") -> None:
        self._push({"message": {
            "message_id": self._next, "date": int(time.time()), "text": text,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": user, "username": user}}})

    def press(self, chat_id: int, data: str, user: str = "ana") -> None:
        self._push({"callback_query": {
            "id": f"cb{self._next}", "chat_instance": "ci", "data": data,
            "from": {"id": chat_id, "is_bot": False, "first_name": user, "username": user},
            "message": {"message_id": 1, "date": int(time.time()), "text": "confirm?",
                        "chat": {"id": chat_id, "type": "private"}}}})

    def wait_sent(self, chat_id: int, needle: str, timeout_s: float = 20.0,
                  after: int = 0) -> Sent:
        """The first answer to ``chat_id`` holding ``needle``, among those from the
        ``after``-th on (``len(api.sent)`` before the message it answers)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for sent in self.sent[after:]:
                    if sent.chat_id == chat_id and needle in sent.text:
                        return sent
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [s.text for s in self.sent]
                    raise AssertionError(f"nothing with {needle!r} sent to {chat_id}; {seen}")
                self._cond.wait(left)

    def sent_to(self, chat_id: int) -> list[Sent]:
        with self._cond:
            return [s for s in self.sent if s.chat_id == chat_id]


@contextmanager
def fake_telegram(port: int = 0) -> Iterator[FakeTelegram]:
    api = FakeTelegram(port)
    api._thread.start()
    try:
        yield api
    finally:
        api._server.shutdown()
        api._server.server_close()
        api._thread.join(5)
