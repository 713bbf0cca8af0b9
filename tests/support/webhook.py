"""A local HTTP server that takes Apprise's ``json://`` posts, for the alert tests.

``status`` is what it answers (500 makes Apprise report a failure); every post is
kept in ``posts`` with its path and headers, so a test reads what a phone would get.
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


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def text(self) -> str:
        return f"{self.body.get('title', '')}\n{self.body.get('message', '')}"


class Webhook:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                with hook.lock:
                    hook.posts.append(Post(self.path, {k.lower(): v for k, v in
                                                       self.headers.items()}, json.loads(raw)))
                self.send_response(hook.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="webhook")

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "alerts") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def wait_for(self, needle: str, timeout_s: float = 15.0) -> Post:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                for post in self.posts:
                    if needle in post.text:
                        return post
            time.sleep(0.02)
        with self.lock:
            seen = [p.body.get("title") for p in self.posts]
        raise AssertionError(f"no post with {needle!r} within {timeout_s} s; saw {seen}")


@contextmanager
def webhook(status: int = 200) -> Iterator[Webhook]:
    hook = Webhook(status)
    hook._thread.start()
    try:
        yield hook
    finally:
        hook._server.shutdown()
        hook._server.server_close()
        hook._thread.join(5)
