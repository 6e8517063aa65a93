"""The Telegram front end (python-telegram-bot 22): every text message is a question, answered with citations.

It holds no retrieval logic. A question goes to `Khabar.ask` in a worker thread, so one slow answer never holds
up another chat (updates are processed concurrently), while "typing…" is refreshed until the answer is sent.
Administrators (KHABAR_TELEGRAM_ADMINS) may also add articles in a private chat: a message of links (pages or
feeds) or a .txt/.md/.html/.jsonl document, answered with the ingest summary; anyone else gets a polite no.
Per-chat state (history for follow-ups, the sources behind recent answers) lives in PTB's chat_data, which a
PicklePersistence file in the data dir keeps across restarts. The token is redacted from every log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    TypeHandler,
    filters,
)

from bot.telegram_render import render_answer, render_ingest, render_sources, render_text, texts
from prompts import phrases
from retrieval.answer.extractive import Answer, Citation
from retrieval.corpus.fetch import megabytes
from retrieval.corpus.files import SUPPORTED_SUFFIXES
from retrieval.corpus.web import is_url
from retrieval.index.store import StoreError
from retrieval.index.writer import IngestStats
from retrieval.pipeline import EmptyQuestion, History, Khabar
from retrieval.settings import Settings
from retrieval.text.language import detect_language

log = logging.getLogger("khabar.telegram")

TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for about 5
ANSWERS_KEPT = 20  # per chat: the Sources button works on this many recent answers
CHAT_STATE_CHARS = 60_000  # per chat: the stored sources of recent answers, in characters, at most
HISTORY_ANSWER_CHARS = 1_500  # per stored turn: the answer text kept for follow-ups
REFUSALS_KEPT = 10_000  # chats refused once, remembered (in memory only) so a stranger is not answered twice
SEND_BACKOFF = 0.5  # seconds before the first retry of a message lost to a 5xx or the network; doubled after
CALLBACK_PREFIX = "src:"  # callback data is "src:" + 8 hex digits, far below Telegram's 64 bytes
RATE_LIMIT_RETRIES = 5
PERSIST_EVERY = 10.0  # seconds between writes of the state file (and always at shutdown)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

Context = ContextTypes.DEFAULT_TYPE


class Answerer(Protocol):
    """What the bot needs from the pipeline (Khabar provides it)."""

    def ask(self, question: str, history: History | None = None) -> Answer: ...


class Ingester(Protocol):
    """What an administrator's links and files need from the pipeline (Khabar provides it)."""

    def ingest(self, paths: list[Path], *, urls: list[str]) -> IngestStats: ...


UPLOADS = (
    "uploads"  # in the data dir: documents administrators sent, kept as the files their articles come from
)
MAX_LINKS = 20  # per message


# ---- logging without the token ------------------------------------------------------------------------

# A bot token: digits, a colon, then 30-odd url-safe characters (a colon may appear URL-encoded).
_TOKEN_SHAPE = re.compile(r"\d{5,}(?::|%3A)[A-Za-z0-9_-]{20,}")


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then blanks out the secrets and anything shaped like a bot token (tracebacks too).

    PTB logs the Bot API URL, which contains the token, at DEBUG, httpx logs every request URL at INFO, and
    PTB's InvalidToken message quotes the token: redacting the final text covers every path at once.
    """

    def __init__(self, secret_values: list[str]):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secret_values = sorted({s for s in secret_values if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self.secret_values:
            text = text.replace(value, "[redacted]")
        return _TOKEN_SHAPE.sub("[redacted]", text)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def configure_logging(level: str, secret_values: list[str]) -> None:
    """One stderr handler with the redacting formatter on the root logger; chatty HTTP loggers quieted."""
    numeric = logging.getLevelNamesMapping().get(level.strip().upper(), logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secret_values))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("httpx", "httpcore", "chromadb", "apscheduler"):
        logging.getLogger(name).setLevel(
            max(numeric, logging.WARNING) if numeric > logging.DEBUG else numeric
        )
    logging.captureWarnings(True)


# ---- small helpers ------------------------------------------------------------------------------------


def parse_ids(raw: str, variable: str = "KHABAR_TELEGRAM_ALLOWED_USERS") -> frozenset[int]:
    """User or chat ids from "123, -1004567"; anything else is a configuration error worth stopping for."""
    ids = set()
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        try:
            ids.add(int(item))
        except ValueError:
            raise ValueError(f"{variable}: {item!r} is not a numeric user or chat id") from None
    return frozenset(ids)


def parse_admins(settings: Settings) -> frozenset[int]:
    """The administrators' user ids; each must also be allowed (when there is an allowlist) to reach the bot."""
    admins = parse_ids(settings.telegram_admins, "KHABAR_TELEGRAM_ADMINS")
    allowed = parse_ids(settings.telegram_allowed_users)
    outside = sorted(admins - allowed) if allowed else []
    if outside:
        raise ValueError(
            f"KHABAR_TELEGRAM_ADMINS: {', '.join(map(str, outside))} not in KHABAR_TELEGRAM_ALLOWED_USERS; "
            "administrators must be allowed users too"
        )
    return admins


def links_only(text: str) -> list[str] | None:
    """The links of a message made only of http(s) links (a request to add them), else None."""
    words = text.split()
    return words if words and all(is_url(w) for w in words) else None


def upload_name(name: str | None) -> str | None:
    """A sent document's file name, safe to save under the uploads folder; None for an unsupported type."""
    clean = re.sub(r"[\x00-\x1f\x7f/\\]", "_", Path(name or "").name).strip().lstrip(".")
    suffix = Path(clean).suffix.lower()
    return clean if clean and suffix in SUPPORTED_SUFFIXES and len(clean) <= 200 else None


def file_base_url(base_url: str) -> str:
    """Where the Bot API serves files: https://api.telegram.org/file/bot for https://api.telegram.org/bot."""
    base = base_url.rstrip("/")
    return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base


def user_lang(update: Update) -> str:
    """The language of the user's Telegram app, for texts that do not answer a question."""
    user = update.effective_user
    return "ar" if user and (user.language_code or "").lower().startswith("ar") else "en"


def bilingual(key: str, first: str, **values: Any) -> str:
    """A phrasing in both languages, the user's own first."""
    order = ("ar", "en") if first == "ar" else ("en", "ar")
    return "\n\n".join(texts(lang)[key].format(**values) for lang in order)


def _mention_entities(message: Message) -> dict[MessageEntity, str]:
    """Mentions in the message's text, or in its caption (a photo or a document with a question)."""
    kinds = [MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]
    if message.text is not None:
        return message.parse_entities(kinds)
    return message.parse_caption_entities(kinds)


def question_text(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a message addressed to the bot, or None: in groups only mentions and replies count.

    The question is the message's text, or the caption of a photo or document."""
    text = message.text if message.text is not None else (message.caption or "")
    if message.chat.type == ChatType.PRIVATE:
        return text
    if addressed_by_reply(message, bot_id):
        return text
    mention = f"@{bot_username}".lower()
    entities = _mention_entities(message)
    for entity, value in entities.items():
        if entity.type == MessageEntityType.MENTION and value.lower() == mention:
            return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()
        if entity.type == MessageEntityType.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return text
    return None


def addressed_by_reply(message: Message, bot_id: int) -> bool:
    reply = message.reply_to_message
    return reply is not None and reply.from_user is not None and reply.from_user.id == bot_id


@contextlib.asynccontextmanager
async def keep_typing(
    bot: Bot, chat_id: int, thread_id: int | None = None, every: float = TYPING_EVERY
) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends; Telegram drops the action after about 5 seconds."""

    async def refresh() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
            except TelegramError as exc:  # a lost typing action is not worth failing an answer for
                log.debug("typing action failed: %s", exc)
            await asyncio.sleep(every)

    task = asyncio.create_task(refresh())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---- the handlers -------------------------------------------------------------------------------------


class KhabarBot:
    """The handlers, bound to one answerer and one access list."""

    def __init__(
        self,
        answerer: Answerer,
        allowed: frozenset[int],
        history_turns: int,
        any_group: bool = False,
        send_retries: int = 3,
        admins: frozenset[int] = frozenset(),
        ingester: Ingester | None = None,
        uploads: Path | None = None,
        max_upload_bytes: int = 10 * 1024 * 1024,
    ):
        self.answerer = answerer
        self.allowed = allowed
        self.history_turns = history_turns
        self.any_group = any_group  # an allowed user may summon the bot in a group that is not allowed
        self.send_retries = send_retries
        self.refused: dict[int, bool] = {}  # chats refused once; in memory only, never in the state file
        self.admins = admins  # may add links and documents in a private chat
        self.ingester = ingester
        self.uploads = uploads
        self.max_upload_bytes = max_upload_bytes

    def install(self, app: Application) -> None:
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(CommandHandler(["start", "help"], self.on_help))
        app.add_handler(CommandHandler("sources", self.on_sources))
        app.add_handler(CommandHandler("reset", self.on_reset))
        private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
        links = filters.Regex(r"^\s*https?://\S+(?:\s+https?://\S+)*\s*$")
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND & links, self.on_links))
        app.add_handler(MessageHandler(private & filters.Document.ALL, self.on_document))
        app.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, self.on_question)
        )
        attachment = filters.UpdateType.MESSAGE & (filters.PHOTO | filters.Document.ALL)
        app.add_handler(MessageHandler(attachment & filters.CAPTION, self.on_question))
        app.add_handler(MessageHandler(attachment & ~filters.CAPTION, self.on_attachment))
        app.add_handler(CallbackQueryHandler(self.on_sources_button, pattern=f"^{CALLBACK_PREFIX}"))
        app.add_error_handler(self.on_error)

    # -- access --

    def is_allowed(self, update: Update) -> bool:
        """A private chat with an allowed user, or an allowed group; an allowed user in any other group only
        when KHABAR_TELEGRAM_ALLOWED_USERS_ANY_GROUP says so."""
        if not self.allowed:
            return True
        user, chat = update.effective_user, update.effective_chat
        user_ok = bool(user and user.id in self.allowed)
        if chat is None or chat.type == ChatType.PRIVATE:
            return user_ok or bool(chat and chat.id in self.allowed)
        return chat.id in self.allowed or (self.any_group and user_ok)

    async def gate(self, update: Update, context: Context) -> None:
        """Runs before every handler: strangers get one polite refusal per chat, then silence."""
        if self.is_allowed(update):
            return
        user, chat, message = update.effective_user, update.effective_chat, update.effective_message
        log.info(
            "refused an update from user %s in chat %s", user.id if user else "?", chat.id if chat else "?"
        )
        if chat is not None:
            context.application.drop_chat_data(chat.id)  # the state file keeps nothing of refused chats
        if update.callback_query is not None:
            await update.callback_query.answer()
        elif (
            message is not None
            and chat is not None
            and chat.id not in self.refused
            and self._addressed(message, context.bot)
        ):
            self.refused[chat.id] = True
            while len(self.refused) > REFUSALS_KEPT:
                del self.refused[next(iter(self.refused))]
            shown_id = user.id if chat.type == ChatType.PRIVATE and user else chat.id
            text = bilingual("refused", user_lang(update), id=shown_id)
            await self._send(message, render_text(text))
        raise ApplicationHandlerStop

    @staticmethod
    def _addressed(message: Message, bot: Bot) -> bool:
        """A command for this bot (`/help` or `/help@thisbot`, not `/help@otherbot`), a mention or a reply."""
        text = message.text or message.caption or ""
        first = text.split(maxsplit=1)[0] if text.strip() else ""
        if first.startswith("/"):
            return "@" not in first or first.lower().endswith(f"@{bot.username}".lower())
        return question_text(message, bot.username, bot.id) is not None

    # -- commands --

    async def on_help(self, update: Update, context: Context) -> None:
        """/start and /help: how to use the bot, in both languages."""
        if update.effective_message is None:
            return
        first = user_lang(update)
        command = (update.effective_message.text or "").split()[0].lower()
        key = "start" if command.startswith("/start") else "help"
        intro = bilingual(key, first, username=context.bot.username)
        if key == "start":
            intro += "\n\n" + bilingual("help", first, username=context.bot.username)
        await self._send(update.effective_message, render_text(intro))

    async def on_sources(self, update: Update, context: Context) -> None:
        """/sources: the full sources of this chat's last answer."""
        message = update.effective_message
        if message is None:
            return
        chat_data = context.chat_data if context.chat_data is not None else {}
        entry = chat_data.get("answers", {}).get(chat_data.get("last", ""))
        if not entry or not entry["citations"]:
            lang = entry["lang"] if entry else user_lang(update)
            await self._send(message, render_text(phrases(lang)["no_sources"]))
            return
        await self._send(message, render_sources(entry["lang"], _citations(entry)))

    async def on_reset(self, update: Update, context: Context) -> None:
        """/reset: forget this chat's history and stored sources."""
        if context.chat_data is not None:
            context.chat_data.clear()
        if update.effective_message is not None:
            await self._send(update.effective_message, render_text(texts(user_lang(update))["reset"]))

    # -- questions --

    async def on_question(self, update: Update, context: Context) -> None:
        """Any text addressed to the bot is a question: answer it with citations, or apologise."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        question = question_text(message, context.bot.username, context.bot.id)
        if question is None:
            return
        lang = detect_language(question)
        chat_data = context.chat_data if context.chat_data is not None else {}
        history: History = [tuple(turn) for turn in chat_data.get("history", [])]  # type: ignore[misc]
        try:
            thread_id = message.message_thread_id if message.is_topic_message else None
            async with keep_typing(context.bot, chat.id, thread_id):
                answer = await asyncio.to_thread(self.answerer.ask, question, history or None)
            key = secrets.token_hex(4)
            markup = None
            if answer.citations:
                label = texts(answer.lang)["sources_button"]
                button = InlineKeyboardButton(label, callback_data=CALLBACK_PREFIX + key)
                markup = InlineKeyboardMarkup([[button]])
            self._keep_sources(chat_data, answer, key)  # before sending: the button may be pressed at once
            try:
                await self._send(message, render_answer(answer), markup)
            except Exception:
                chat_data.get("answers", {}).pop(key, None)  # never delivered: nothing of it is kept
                raise
            self._remember(chat_data, answer, key)  # only an answer the user received is history
        except EmptyQuestion:
            await self._send(message, render_text(phrases(lang)["empty_question"]))
        except Exception:
            log.exception("answering failed in chat %s", chat.id)
            with contextlib.suppress(TelegramError):
                await self._send(message, render_text(texts(lang)["apology"]))

    async def on_attachment(self, update: Update, context: Context) -> None:
        """A photo or document without a caption: one line saying how to ask (only when addressed to us)."""
        message = update.effective_message
        if message is None:
            return
        if message.chat.type != ChatType.PRIVATE and not addressed_by_reply(message, context.bot.id):
            return
        await self._send(message, render_text(texts(user_lang(update))["attachment_hint"]))

    # -- adding articles (administrators, private chats) --

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return self.ingester is not None and user is not None and user.id in self.admins

    async def on_links(self, update: Update, context: Context) -> None:
        """A private message of links only: an administrator's pages or feeds are added, anyone else is
        told politely that only administrators can add articles."""
        message = update.effective_message
        if message is None:
            return
        urls = links_only(message.text or "") or []
        lang = user_lang(update)
        if not self.is_admin(update):
            await self._send(message, render_text(texts(lang)["not_admin"]))
            return
        if len(urls) > MAX_LINKS:
            await self._send(message, render_text(texts(lang)["too_many_links"].format(limit=MAX_LINKS)))
            return
        await self._ingest(update, context, [], urls)

    async def on_document(self, update: Update, context: Context) -> None:
        """A document in a private chat: an administrator's .txt/.md/.html/.jsonl file is saved in the uploads
        folder and added; from anyone else a caption is a question (as for photos) and no caption a polite no."""
        message = update.effective_message
        if message is None or message.document is None:
            return
        lang = user_lang(update)
        if not self.is_admin(update):
            if message.caption:
                await self.on_question(update, context)
            else:
                await self._send(message, render_text(texts(lang)["not_admin"]))
            return
        document = message.document
        name = upload_name(document.file_name)
        if name is None or self.uploads is None:
            kinds = ", ".join(SUPPORTED_SUFFIXES)
            await self._send(message, render_text(texts(lang)["unsupported_file"].format(kinds=kinds)))
            return
        too_large = render_text(texts(lang)["file_too_large"].format(size=megabytes(self.max_upload_bytes)))
        if (document.file_size or 0) > self.max_upload_bytes:
            await self._send(message, too_large)
            return
        data = bytes(await (await context.bot.get_file(document.file_id)).download_as_bytearray())
        if len(data) > self.max_upload_bytes:
            await self._send(message, too_large)
            return
        path = self.uploads / name
        await asyncio.to_thread(_write_upload, path, data)
        await self._ingest(update, context, [path], [])

    async def _ingest(self, update: Update, context: Context, paths: list[Path], urls: list[str]) -> None:
        """Add the files or links (in a worker thread, "typing…" meanwhile) and reply with the summary."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or self.ingester is None:
            return
        lang = user_lang(update)
        log.info("admin %s adds %d file(s), %d link(s)", update.effective_user.id, len(paths), len(urls))
        try:
            async with keep_typing(context.bot, chat.id):
                stats = await asyncio.to_thread(self.ingester.ingest, paths, urls=urls)
        except StoreError as exc:
            await self._send(message, render_text(texts(lang)["ingest_failed"].format(reason=exc)))
            return
        except Exception:
            log.exception("adding articles failed in chat %s", chat.id)
            await self._send(message, render_text(texts(lang)["apology"]))
            return
        await self._send(message, render_ingest(lang, stats))

    @staticmethod
    def _keep_sources(chat_data: dict[str, Any], answer: Answer, key: str) -> None:
        """The sources behind the answer's button, bounded in count and in size (the newest always kept)."""
        answers: dict[str, dict[str, Any]] = chat_data.setdefault("answers", {})
        answers[key] = {"lang": answer.lang, "citations": [asdict(c) for c in answer.citations]}

        def size() -> int:
            return sum(len(c["text"]) + len(c["title"]) for e in answers.values() for c in e["citations"])

        while len(answers) > ANSWERS_KEPT or (len(answers) > 1 and size() > CHAT_STATE_CHARS):
            del answers[next(iter(answers))]

    def _remember(self, chat_data: dict[str, Any], answer: Answer, key: str) -> None:
        """A delivered answer: the turn for follow-ups (bounded), its sources, and /sources pointing at it."""
        if self.history_turns:
            turn = (answer.question, answer.answer[:HISTORY_ANSWER_CHARS])
            chat_data["history"] = [*chat_data.get("history", []), turn][-self.history_turns :]
        if key not in chat_data.get("answers", {}):
            self._keep_sources(chat_data, answer, key)
        chat_data["last"] = key

    async def on_sources_button(self, update: Update, context: Context) -> None:
        """The Sources button: the full quoted sentences of that answer, as a reply to it."""
        query = update.callback_query
        if query is None:
            return
        key = (query.data or "").removeprefix(CALLBACK_PREFIX)
        chat_data = context.chat_data if context.chat_data is not None else {}
        entry = chat_data.get("answers", {}).get(key)
        if entry is None:
            await query.answer(texts(user_lang(update))["sources_gone"])
            return
        await query.answer()
        message = query.message
        if isinstance(message, Message):
            await self._send(message, render_sources(entry["lang"], _citations(entry)), quote=True)

    # -- sending --

    async def _send(
        self,
        message: Message,
        parts: list[str],
        markup: InlineKeyboardMarkup | None = None,
        quote: bool | None = None,
    ) -> None:
        """Send the parts in order as replies in the message's chat (HTML and no link previews are the
        application's Defaults); the first part quotes the question in groups (or when `quote`), the button
        goes on the last part. A part the Bot API answers with a 5xx or that the network loses is sent again
        after a growing pause (flood-control 429s are the AIORateLimiter's); after the last try it raises."""
        for i, part in enumerate(parts):
            for attempt in range(self.send_retries + 1):
                try:
                    await message.reply_html(
                        part,
                        do_quote=quote if i == 0 else False,
                        reply_markup=markup if i == len(parts) - 1 else None,
                    )
                    break
                except NetworkError as exc:  # 5xx, a dropped connection, a timeout (TimedOut is one)
                    if attempt == self.send_retries:
                        raise
                    pause = SEND_BACKOFF * 2**attempt
                    log.warning("sending to chat %s failed (%s); again in %.1fs", message.chat.id, exc, pause)
                    await asyncio.sleep(pause)

    async def on_error(self, update: object, context: Context) -> None:
        """Anything a handler did not catch: log the traceback (the formatter keeps the token out)."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed", update_id, exc_info=context.error)


def _citations(entry: dict[str, Any]) -> list[Citation]:
    return [Citation(**c) for c in entry["citations"]]


def _write_upload(path: Path, data: bytes) -> None:
    """Save an uploaded document whole or not at all (a temporary file renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    partial.replace(path)


# ---- the application ----------------------------------------------------------------------------------


def state_path(settings: Settings) -> Path:
    path = Path(settings.telegram_state_file)
    return path if path.is_absolute() else Path(settings.data_dir) / path


def _post_init(on_stop: Callable[[], None] | None) -> Callable[[Application], Any]:
    async def post_init(app: Application) -> None:
        await _announce(app)
        if on_stop is not None:
            _stop_gracefully_on_signals(app, on_stop)

    return post_init


def _stop_gracefully_on_signals(app: Application, on_stop: Callable[[], None]) -> None:
    """SIGTERM and SIGINT: cut answers in progress short (`on_stop`), then let PTB stop as usual, which waits
    for them (now bounded), saves the state file and exits."""
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        log.info("%s: finishing answers in progress, then stopping", sig.name)
        on_stop()
        app.stop_running()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop, sig)


async def _announce(app: Application) -> None:
    """The command menu in both languages (Arabic for Arabic-language apps), then a line saying we are up."""
    for lang in ("en", "ar"):
        t = texts(lang)
        commands = [BotCommand(name, t[f"cmd_{name}"]) for name in ("start", "help", "sources", "reset")]
        await app.bot.set_my_commands(commands, language_code=None if lang == "en" else lang)
    log.info("ready as @%s", app.bot.username)


def build_application(
    settings: Settings,
    answerer: Answerer,
    on_stop: Callable[[], None] | None = None,
    ingester: Ingester | None = None,
) -> Application:
    """The PTB application: concurrent updates, AIORateLimiter with retries, persistent chat data, HTML
    replies without link previews by default; `on_stop` runs first when a stop signal arrives. `ingester`
    adds the links and documents administrators send (none: nobody can add articles from Telegram)."""
    token = settings.telegram_token.get_secret_value().strip()
    state = state_path(settings)
    state.parent.mkdir(parents=True, exist_ok=True)
    persistence = PicklePersistence(
        filepath=state,
        store_data=PersistenceInput(bot_data=True, chat_data=True, user_data=False, callback_data=False),
        update_interval=PERSIST_EVERY,
    )
    app = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .base_file_url(file_base_url(settings.telegram_base_url))
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW, allow_sending_without_reply=True
            )
        )
        .persistence(persistence)
        .post_init(_post_init(on_stop))
        .build()
    )
    bot = KhabarBot(
        answerer,
        parse_ids(settings.telegram_allowed_users),
        settings.telegram_history_turns,
        any_group=settings.telegram_allowed_users_any_group,
        send_retries=settings.telegram_send_retries,
        admins=parse_admins(settings),
        ingester=ingester,
        uploads=Path(settings.data_dir) / UPLOADS,
        max_upload_bytes=int(settings.fetch_max_mb * 1024 * 1024),
    )
    bot.install(app)
    return app


def main(settings: Settings) -> None:
    """`khabar telegram`: long polling, or a webhook server when KHABAR_TELEGRAM_WEBHOOK_URL is set."""
    token = settings.telegram_token.get_secret_value().strip()
    webhook_secret = settings.telegram_webhook_secret.get_secret_value() or secrets.token_urlsafe(32)
    configure_logging(settings.telegram_log_level, [token, webhook_secret])
    if not token:
        log.error("KHABAR_TELEGRAM_TOKEN is not set: create a bot with @BotFather and set its token.")
        raise SystemExit(2)
    try:
        parse_admins(settings)
        kb = Khabar(settings)
    except (ValueError, StoreError) as exc:  # configuration problems: the message says what to fix
        log.error("%s", exc)
        raise SystemExit(2) from None
    try:
        if kb.ensure_seeded() is not None:
            log.info("the store was empty: ingested %s", settings.seeds_dir)
        kb.warm_up()  # the embedder, the BM25 index and the vocabulary, before the first user waits; never the LLM

        def cut_answers_short() -> None:
            kb.cut_answers_short(settings.telegram_shutdown_grace)

        app = build_application(settings, kb, on_stop=cut_answers_short, ingester=kb)
        if settings.telegram_webhook_url:
            url = settings.telegram_webhook_url
            log.info(
                "webhook mode: %s, listening on %s:%s",
                url,
                settings.telegram_webhook_listen,
                settings.telegram_webhook_port,
            )
            app.run_webhook(
                listen=settings.telegram_webhook_listen,
                port=settings.telegram_webhook_port,
                url_path=urlparse(url).path.strip("/"),
                webhook_url=url,
                secret_token=webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=3,
                stop_signals=None,  # ours, installed in post_init: they bound the answers in progress first
            )
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3, stop_signals=None)
    except InvalidToken:
        log.error("Telegram rejected the token: check KHABAR_TELEGRAM_TOKEN.")
        raise SystemExit(1) from None
    except Exception:
        log.exception("the Telegram bot stopped because of an error")
        raise SystemExit(1) from None
    log.info("stopped")
