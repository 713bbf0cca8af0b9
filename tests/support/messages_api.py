"""A small Messages API server on loopback, for the real ``anthropic`` SDK via ``base_url``.

Standard library only. Each ``POST /v1/messages`` takes the next scripted reply
(or the default one): a tool_use answer, a text-only answer, a raw body (bad
JSON), an error status with ``retry-after``, or any of those after a delay.
Every request is recorded (headers and JSON body) so a test can look at the
prompt that was really sent. The server runs in a thread, so it is usable from
sync code, from asyncio tests and from a kernel in another process alike.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def message_body(content: list[dict[str, Any]], *, model: str = "claude-test",
                 usage: tuple[int, int] = (120, 30), stop_reason: str = "tool_use") -> bytes:
    return json.dumps({
        "id": f"msg_{next(_ids):06d}", "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }).encode()


def tool_answer(tool_input: Any, *, name: str = "", usage: tuple[int, int] = (120, 30),
                delay_s: float = 0.0, model: str = "claude-test") -> Reply:
    """A forced tool call's answer; ``name`` empty: the tool the request forced."""
    block = {"type": "tool_use", "id": f"toolu_{next(_ids):06d}", "name": name,
             "input": tool_input}
    return Reply(body=message_body([block], usage=usage, model=model), delay_s=delay_s)


def text_answer(text: str) -> Reply:
    return Reply(body=message_body([{"type": "text", "text": text}], stop_reason="end_turn"))


def error(status: int, kind: str, message: str = "scripted error", *,
          retry_after: float | None = None, delay_s: float = 0.0) -> Reply:
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    body = json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
    return Reply(status=status, body=body, headers=headers, delay_s=delay_s)


def rate_limited(retry_after: float = 0.01) -> Reply:
    return error(429, "rate_limit_error", "Number of requests has exceeded your rate limit",
                 retry_after=retry_after)


def overloaded(retry_after: float = 0.01) -> Reply:
    return error(529, "overloaded_error", "Overloaded", retry_after=retry_after)


def server_error(retry_after: float = 0.01) -> Reply:
    return error(500, "api_error", "Internal server error", retry_after=retry_after)


def unauthorized() -> Reply:
    return error(401, "authentication_error", "invalid x-api-key")


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content")) for m in self.body.get("messages", []))

    @property
    def forced_tool(self) -> str:
        choice = self.body.get("tool_choice") or {}
        return str(choice.get("name", "")) if choice.get("type") == "tool" else ""


class MessagesApi:
    """The server; use :func:`messages_api` to run one for a test."""

    def __init__(self, default: Reply | None = None) -> None:
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.default = default or error(500, "api_error", "nothing scripted")
        self.requests: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="messages-api")

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def start(self) -> MessagesApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(api: MessagesApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"unparsed": raw.decode(errors="replace")}
            api.record(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            reply = api.next_reply()
            if reply.delay_s:
                time.sleep(reply.delay_s)
            payload = _fill_tool_name(reply.body, body)
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", f"req_{next(_ids):06d}")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(payload)  # unless the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _fill_tool_name(payload: bytes, request: dict[str, Any]) -> bytes:
    """A scripted tool_use with no name answers the tool the request forced."""
    if b'"name": ""' not in payload:
        return payload
    forced = (request.get("tool_choice") or {}).get("name", "")
    return payload.replace(b'"name": ""', json.dumps({"name": forced})[1:-1].encode(), 1)


@contextmanager
def messages_api(default: Reply | None = None) -> Iterator[MessagesApi]:
    api = MessagesApi(default).start()
    try:
        yield api
    finally:
        api.stop()
