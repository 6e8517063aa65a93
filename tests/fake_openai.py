"""A fake OpenAI-compatible chat server on 127.0.0.1, scripted per test.

It speaks the real protocol (POST /v1/chat/completions, JSON or server-sent-event streaming, OpenAI-style error
bodies), so the real llama-index/openai client is what the tests exercise. Each request takes the next scripted
reply; a reply can be fixed text, an HTTP error, a delay longer than the client's timeout, or a function of the
request (e.g. "cite the source that mentions X", read from the prompt the client actually sent).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import LocalServer


@dataclass
class Reply:
    """One scripted response."""

    text: str = ""
    status: int = 200
    delay: float = 0.0  # seconds of silence before the response (longer than the client timeout = a timeout)
    chunk_chars: int = 4  # characters per streamed delta: small, so markers like "[12]" arrive split
    gate: threading.Event | None = (
        None  # when set up, streaming pauses after `gate_at` characters until it is set
    )
    gate_at: int = 0


Script = Reply | str | Callable[[dict[str, Any]], "Reply | str"]


class FakeOpenAI(LocalServer):
    """Start with `with FakeOpenAI() as fake:`; `fake.url` is the base URL; `fake.requests` what arrived."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.errors: list[Exception] = []
        self._script: list[Script] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        super().__init__(self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Script) -> None:
        """Queue replies, one per coming request, in order."""
        with self._lock:
            self._script.extend(replies)

    @property
    def unused(self) -> int:
        return len(self._script)

    def reset(self) -> None:
        """Forget requests, script and errors (between tests sharing one server)."""
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self.errors.clear()

    def stop(self) -> None:
        self._closing.set()
        super().stop()

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            step = self._script.pop(0) if self._script else Reply("unscripted request", status=500)
        if callable(step):
            try:
                step = step(body)
            except Exception as exc:  # a broken script must fail its test, not look like a server error
                self.errors.append(exc)
                step = Reply(f"script error: {exc}", status=500)
        return Reply(step) if isinstance(step, str) else step

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                reply = fake._next(body)
                if reply.delay and fake._closing.wait(reply.delay):
                    return
                if reply.status != 200:
                    self._json(reply.status, {"error": {"message": reply.text, "type": "server_error"}})
                elif body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._json(200, completion(body, reply.text))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = [
                    reply.text[i : i + reply.chunk_chars]
                    for i in range(0, len(reply.text), reply.chunk_chars)
                ]
                events = [chunk(body, {"role": "assistant", "content": ""})]
                events += [chunk(body, {"content": p}) for p in pieces]
                events.append(chunk(body, {}, finish="stop"))
                sent = 0
                for event in events:
                    if reply.gate is not None and sent >= reply.gate_at and not reply.gate.is_set():
                        reply.gate.wait(60)
                    self.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                    sent += len(event["choices"][0]["delta"].get("content", ""))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def chunk(body: dict[str, Any], delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


# ---- reading what the client sent -------------------------------------------------------------------------

_SOURCE_LINE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


def last_user_message(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = users[-1]["content"] if users else ""
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content)
    return content


def sources(body: dict[str, Any]) -> dict[int, str]:
    """The numbered source sentences of the answer prompt in this request."""
    for message in body.get("messages", []):
        content = message.get("content") or ""
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content)
        if "<sources>" in content:
            block = content.split("<sources>", 1)[1].split("</sources>", 1)[0]
            return {int(n): text for n, text in _SOURCE_LINE.findall(block)}
    return {}


def source_number(body: dict[str, Any], fragment: str) -> int:
    """The number the prompt gave to the sentence containing `fragment` (a test fails loudly if none)."""
    matches = [n for n, text in sources(body).items() if fragment in text]
    if not matches:
        raise AssertionError(f"no source contains {fragment!r}: {sources(body)}")
    return matches[0]


def kind(body: dict[str, Any]) -> str:
    """ "condense" for a follow-up rewrite request, "retry" for a second attempt, else "answer"."""
    text = last_user_message(body)
    if "<follow_up>" in text:
        return "condense"
    return "answer" if "<sources>" in text else "retry"
