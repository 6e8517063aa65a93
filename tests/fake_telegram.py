"""A fake Telegram Bot API server on 127.0.0.1, speaking the real HTTP protocol, for end-to-end bot tests.

The bot under test is pointed at it with KHABAR_TELEGRAM_BASE_URL=http://127.0.0.1:PORT/bot. It implements what
khabar's bot uses (getMe, deleteWebhook, setWebhook, getUpdates with offset and long poll, sendMessage,
editMessageText, sendChatAction, setMyCommands, answerCallbackQuery, getFile and the file download at
/file/bot<token>/<file_path>) and checks what Telegram checks: the token,
HTML entities parsed the way Telegram parses them (an unescaped `<` is an error), 4096 characters at most after
parsing, callback data of at most 64 bytes. Bodies are accepted form-encoded (as PTB sends them) or as JSON.

Tests inject updates (`send_text`, `send_photo`, `send_document`, `press_button`), read what the bot sent (`messages`,
`wait_messages`), and script failures with `fail_next`: a flood-control 429 with retry_after, a 5xx, or a
connection closed without an answer (what a network failure looks like to the client).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.local_server import LocalServer

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
# Tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
    "blockquote", "tg-emoji",
}  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class _Drop(Exception):
    """Close the connection without an answer."""


class BotApiError(Exception):
    """An error answer of the Bot API: HTTP status = error_code, with Telegram's description."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def parse_html(text: str) -> str:
    """The text a user sees for an HTML-mode message, parsed the way Telegram does; BotApiError if invalid.

    Like Telegram: `&` starts an entity only when one follows (otherwise it is a literal `&`), a `<` must start
    a supported, properly nested tag, and `>` on its own is literal.
    """
    out: list[str] = []
    open_tags: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = re.match(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));", text[i:])
            if m and (m.group(1) or m.group(2) or m.group(3) in _NAMED_ENTITIES):
                if m.group(1):
                    out.append(chr(int(m.group(1))))
                elif m.group(2):
                    out.append(chr(int(m.group(2), 16)))
                else:
                    out.append(_NAMED_ENTITIES[m.group(3)])
                i += m.end()
                continue
            out.append(c)
            i += 1
            continue
        if c != "<":
            out.append(c)
            i += 1
            continue
        offset = len(text[:i].encode("utf-8"))
        end = text.find(">", i)
        if end < 0:
            raise BotApiError(
                400, f"Bad Request: can't parse entities: Unclosed start tag at byte offset {offset}"
            )
        inner = text[i + 1 : end]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not open_tags:
                raise BotApiError(
                    400, f"Bad Request: can't parse entities: Unexpected end tag at byte offset {offset}"
                )
            if name and name != open_tags[-1]:
                raise BotApiError(
                    400,
                    "Bad Request: can't parse entities: Unmatched end tag at byte offset "
                    f'{offset}, expected "</{open_tags[-1]}>", found "</{name}>"',
                )
            open_tags.pop()
        else:
            name = re.split(r"\s", inner, maxsplit=1)[0].lower()
            if name not in HTML_TAGS:
                raise BotApiError(
                    400,
                    f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}',
                )
            open_tags.append(name)
        i = end + 1
    if open_tags:
        raise BotApiError(
            400,
            f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{open_tags[-1]}\"",
        )
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Sent:
    """A message the bot sent (or edited): `html` as sent, `text` as Telegram shows it."""

    message_id: int
    chat_id: int
    text: str
    html: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    reply_to: int | None
    at: float
    edits: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)  # not yet confirmed by an offset
    injected_at: dict[int, float] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (file_path, content)
    # method -> scripted failures as (chat id or None for any chat, retry_after, HTTP status; 0 = drop)
    failures: dict[str, list[tuple[int | None, int, int]]] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # language code -> commands
    webhook: dict[str, Any] = field(default_factory=dict)


class FakeTelegram(LocalServer):
    """The fake server; use as a context manager or call start()/stop()."""

    def __init__(self, token: str, username: str = "khabar_test_bot", bot_id: int = 7_000_000_001):
        self.token = token
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Khabar",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._cond = threading.Condition()
        self._state = _State()
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._closing = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                fake._handle(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler)

    # ---- lifecycle ----

    @property
    def base_url(self) -> str:
        """The value for KHABAR_TELEGRAM_BASE_URL (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def username(self) -> str:
        return self.bot_user["username"]

    def stop(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        super().stop()

    # ---- what tests inject ----

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update; returns it with the update_id assigned here."""
        with self._cond:
            update_id = next(self._ids)
            update = {"update_id": update_id, **update}
            self._state.updates.append(update)
            self._state.injected_at[update_id] = time.monotonic()
            self._cond.notify_all()
        return update

    def user(self, user_id: int, language_code: str = "en") -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User {user_id}",
            "language_code": language_code,
        }

    def chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"User {chat_id}"
        else:
            chat["title"] = f"Group {chat_id}"
        with self._cond:
            self._state.chats[chat_id] = chat
        return chat

    def message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str = "en",
        reply_to: Sent | None = None,
        mention: bool = False,
        photo: bool = False,
        document: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message update body; `mention` prefixes "@<bot username> " with a mention entity, as Telegram does;
        `photo` makes it a photo whose caption is `text` (no caption when `text` is empty), `document` (a
        Document object) a document with that caption."""
        if mention:
            text = f"@{self.username} {text}"
        entities = []
        if text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])})
        if mention:
            entities.append({"type": "mention", "offset": 0, "length": utf16_len(f"@{self.username}")})
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": self.user(user_id if user_id is not None else chat_id, language_code),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if photo or document:
            del message["text"]
            if document:
                message["document"] = document
            else:
                size = {"file_id": "AgAD", "file_unique_id": "AQAD", "width": 640, "height": 480}
                message["photo"] = [size]
            if text:
                message["caption"] = text
                if "entities" in message:
                    message["caption_entities"] = message.pop("entities")
            else:
                message.pop("entities", None)
        if reply_to is not None:
            message["reply_to_message"] = self._as_message(reply_to)
        return {"message": message}

    def send_text(self, chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        """Inject a text message from a user (see `message` for the options); returns the update."""
        return self.push(self.message(chat_id, text, **kwargs))

    def send_photo(self, chat_id: int, caption: str = "", **kwargs: Any) -> dict[str, Any]:
        """Inject a photo from a user, with `caption` (none when empty); returns the update."""
        return self.push(self.message(chat_id, caption, photo=True, **kwargs))

    def send_document(
        self, chat_id: int, file_name: str, content: bytes, caption: str = "", **kwargs: Any
    ) -> dict[str, Any]:
        """Inject a document from a user; the bot can fetch `content` with getFile and a download, as from
        Telegram's servers. Returns the update."""
        file_id = f"BQAC{next(self._ids):06d}"
        with self._cond:
            self._state.files[file_id] = (
                f"documents/file_{len(self._state.files)}{_suffix(file_name)}",
                content,
            )
        document = {
            "file_id": file_id,
            "file_unique_id": f"AgAD{file_id}",
            "file_name": file_name,
            "mime_type": "application/octet-stream",
            "file_size": len(content),
        }
        return self.push(self.message(chat_id, caption, document=document, **kwargs))

    def press_button(self, sent: Sent, data: str, user_id: int | None = None) -> dict[str, Any]:
        """Inject a callback query: a user pressed an inline button of a message the bot sent."""
        return self.push(
            {
                "callback_query": {
                    "id": str(next(self._ids) + 10**9),
                    "from": self.user(user_id if user_id is not None else sent.chat_id),
                    "message": self._as_message(sent),
                    "chat_instance": str(sent.chat_id),
                    "data": data,
                }
            }
        )

    def fail_next(
        self,
        method: str,
        retry_after: int = 0,
        chat_id: int | None = None,
        times: int = 1,
        status: int = 429,
    ) -> None:
        """The next `times` calls of `method` (for `chat_id`, if given) fail: a 429 with this retry_after, another
        HTTP status (500, 502...), or with status 0 a connection closed without any answer."""
        with self._cond:
            self._state.failures.setdefault(method, []).extend([(chat_id, retry_after, status)] * times)

    # ---- what tests read ----

    def messages(self, chat_id: int | None = None) -> list[Sent]:
        with self._cond:
            return [m for m in self._state.sent if chat_id is None or m.chat_id == chat_id]

    def calls(self, method: str | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self._state.calls if method is None or c.method == method]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
        """Wait until predicate() is truthy (re-checked on every request the bot makes); returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
                self._cond.wait(min(left, 0.5))

    def wait_messages(self, chat_id: int, count: int = 1, timeout: float = 60.0) -> list[Sent]:
        """The first `count` messages sent to the chat, once there are that many."""

        def enough() -> list[Sent] | None:
            found = [m for m in self._state.sent if m.chat_id == chat_id]
            return found[:count] if len(found) >= count else None

        return self.wait_for(enough, timeout, f"{count} message(s) in chat {chat_id}")

    def wait_polling(self, timeout: float = 60.0) -> None:
        """Block until the bot is up and long-polling."""
        self.wait_for(lambda: any(c.method == "getUpdates" for c in self._state.calls), timeout, "getUpdates")

    def commands(self) -> dict[str, list[dict[str, Any]]]:
        with self._cond:
            return dict(self._state.commands)

    @property
    def webhook(self) -> dict[str, Any]:
        with self._cond:
            return dict(self._state.webhook)

    def injected_at(self, update_id: int) -> float:
        return self._state.injected_at[update_id]

    # ---- HTTP ----

    def _download(self, request: BaseHTTPRequestHandler, token: str, file_path: str) -> None:
        """GET /file/bot<token>/<file_path>: a file's bytes, as Telegram's file server sends them."""
        with self._cond:
            self._state.calls.append(Call("download", {"file_path": file_path}, time.monotonic()))
            found = [c for p, c in self._state.files.values() if p == file_path]
        status, payload = (200, found[0]) if token == self.token and found else (404, b"Not Found")
        request.send_response(status)
        request.send_header("Content-Type", "application/octet-stream")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        download = re.fullmatch(r"/file/bot([^/]+)/(.+)", request.path.split("?", 1)[0])
        if download:
            return self._download(request, unquote(download.group(1)), unquote(download.group(2)))
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", request.path.split("?", 1)[0])
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        status, body = 404, BotApiError(404, "Not Found").body()
        if match and match.group(1) == self.token:
            method = match.group(2)
            params = self._params(request.headers.get("Content-Type", ""), raw)
            try:
                status, body = self._dispatch(method, params)
            except _Drop:
                request.close_connection = True
                return
        elif match:
            status, body = 401, BotApiError(401, "Unauthorized").body()
        payload = json.dumps(body).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bot gave up on a long poll while shutting down

    @staticmethod
    def _params(content_type: str, raw: bytes) -> dict[str, Any]:
        """Form (values JSON-encoded unless plain strings, as PTB sends them) or JSON bodies."""
        if not raw:
            return {}
        if content_type.startswith("application/json"):
            return json.loads(raw)
        if content_type.startswith("application/x-www-form-urlencoded"):
            return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        raise BotApiError(400, f"Bad Request: unsupported content type {content_type!r}")

    def _dispatch(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        call = Call(method, params, time.monotonic())
        with self._cond:  # recorded on arrival: a long poll shows up while it is still waiting
            self._state.calls.append(call)
            self._cond.notify_all()
        try:
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise BotApiError(404, "Not Found")
            with self._cond:
                queue = self._state.failures.get(method, [])
                for i, (chat_id, retry_after, status) in enumerate(queue):
                    if chat_id is None or str(chat_id) == str(params.get("chat_id")):
                        del queue[i]
                        if status == 0:
                            call.status = 0
                            raise _Drop
                        if status == 429:
                            raise BotApiError(
                                429,
                                f"Too Many Requests: retry after {retry_after}",
                                {"retry_after": retry_after},
                            )
                        raise BotApiError(status, "Internal Server Error" if status == 500 else "Bad Gateway")
            body: dict[str, Any] = {"ok": True, "result": handler(params)}
        except BotApiError as exc:
            call.status, body = exc.code, exc.body()
        with self._cond:
            self._cond.notify_all()
        return call.status, body

    # ---- methods ----

    def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        with self._cond:
            found = self._state.files.get(file_id)
        if found is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        file_path, content = found
        return {
            "file_id": file_id,
            "file_unique_id": f"AgAD{file_id}",
            "file_size": len(content),
            "file_path": file_path,
        }

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self._state.webhook = {}
            if _bool(params.get("drop_pending_updates")):
                self._state.updates.clear()
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self._state.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            url = self._state.webhook.get("url", "")
            return {
                "url": url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._state.updates),
            }

    def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Updates from `offset` on (earlier ones are confirmed and forgotten), waiting up to `timeout` s."""
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._state.webhook.get("url"):
                raise BotApiError(409, "Conflict: can't use getUpdates method while webhook is active")
            self._state.updates = [u for u in self._state.updates if u["update_id"] >= offset]
            while not self._state.updates and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch = self._state.updates[:limit]
            return batch

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = _json(params.get("commands"))
        if not isinstance(commands, list) or not all(
            isinstance(c, dict)
            and re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", ""))
            and c.get("description")
            for c in commands
        ):
            raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        with self._cond:
            self._state.commands[params.get("language_code") or ""] = commands
        return True

    def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        if params.get("action") not in {"typing", "upload_photo", "record_video", "upload_document"}:
            raise BotApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise BotApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        return True

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        shown, source, mode, markup = self._text(params)
        reply = _json(params.get("reply_parameters"))
        sent = Sent(
            message_id=next(self._message_ids),
            chat_id=chat["id"],
            text=shown,
            html=source,
            parse_mode=mode,
            reply_markup=markup,
            reply_to=int(reply["message_id"]) if isinstance(reply, dict) and "message_id" in reply else None,
            at=time.monotonic(),
        )
        with self._cond:
            self._state.sent.append(sent)
        return self._as_message(sent)

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        message_id = int(params.get("message_id") or 0)
        shown, source, mode, markup = self._text(params)
        with self._cond:
            found = [m for m in self._state.sent if m.chat_id == chat["id"] and m.message_id == message_id]
            if not found:
                raise BotApiError(400, "Bad Request: message to edit not found")
            sent = found[0]
            if sent.text == shown and sent.reply_markup == markup:
                raise BotApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup are "
                    "exactly the same as a current content and reply markup of the message",
                )
            sent.text, sent.html, sent.parse_mode, sent.reply_markup = shown, source, mode, markup
            sent.edits += 1
        return self._as_message(sent)

    # ---- checks shared by the methods ----

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            chat_id = int(params.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise BotApiError(400, "Bad Request: chat_id is empty") from None
        with self._cond:
            chat = self._state.chats.get(chat_id)
        if chat is None:
            raise BotApiError(400, "Bad Request: chat not found")
        return chat

    @staticmethod
    def _text(params: dict[str, Any]) -> tuple[str, str, str | None, dict[str, Any] | None]:
        source = params.get("text") or ""
        mode = params.get("parse_mode") or None
        if mode not in (None, "HTML"):
            raise BotApiError(400, f"Bad Request: unsupported parse_mode {mode!r} in this fake")
        shown = (parse_html(source) if mode == "HTML" else source).strip()
        if not shown:
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(shown) > MAX_TEXT:
            raise BotApiError(400, "Bad Request: message is too long")
        markup = _json(params.get("reply_markup"))
        if markup is not None:
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise BotApiError(
                    400, 'Bad Request: can\'t parse inline keyboard button: field "inline_keyboard"'
                )
            for button in (b for row in rows for b in row):
                if not button.get("text"):
                    raise BotApiError(400, "Bad Request: BUTTON_TEXT_EMPTY")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                    raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return shown, source, mode, markup

    def _as_message(self, sent: Sent) -> dict[str, Any]:
        with self._cond:
            chat = self._state.chats[sent.chat_id]
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "text": sent.text,
        }
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message


def _json(value: Any) -> Any:
    """A form value PTB JSON-encoded (reply_markup, commands...) or the same value from a JSON body."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _suffix(file_name: str) -> str:
    """Telegram keeps a document's extension in its file_path (documents/file_3.txt)."""
    match = re.search(r"\.[A-Za-z0-9]{1,8}$", file_name)
    return match.group(0).lower() if match else ""
