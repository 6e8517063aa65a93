"""The optional LLM: any OpenAI-compatible chat endpoint through llama-index's OpenAILike client.

OpenAILike never loads a tiktoken encoding (its tokenizer is None unless one is named), so nothing is
downloaded at run time. Every client failure (timeout, refused connection, HTTP error, malformed reply) becomes
one `LLMError`, which the pipeline answers with the extractive fallback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import openai
from llama_index.core.base.llms.types import ChatMessage
from llama_index.llms.openai_like import OpenAILike


class LLMError(RuntimeError):
    """The LLM could not give an answer; `kind` is a short user-facing reason ("timeout", "HTTP 500", ...)."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def build_llm(
    base_url: str,
    model: str | None,
    api_key: str,
    timeout: float,
    max_tokens: int | None = None,
    temperature: float = 0.1,
    max_retries: int = 1,
) -> OpenAILike:
    """A chat client for an OpenAI-compatible endpoint (llama.cpp server, Ollama, vLLM, OpenAI, OpenRouter)."""
    return OpenAILike(
        api_base=base_url,
        model=model or "default",
        api_key=api_key or "not-needed",  # local servers ignore it, the client insists on one
        timeout=timeout,
        max_retries=max_retries,
        max_tokens=max_tokens,
        temperature=temperature,
        is_chat_model=True,
        is_function_calling_model=False,
        context_window=8192,
    )


def _error(exc: Exception) -> LLMError:
    if isinstance(exc, openai.APITimeoutError):
        return LLMError("timeout", str(exc))
    if isinstance(exc, openai.APIStatusError):
        return LLMError(f"HTTP {exc.status_code}", exc.message)
    if isinstance(exc, openai.APIConnectionError):
        return LLMError("connection failed", str(exc))
    return LLMError("bad reply", f"{type(exc).__name__}: {exc}")


def _timeout(llm: OpenAILike, timeout: float | None) -> dict[str, float]:
    """Per-request timeout for the openai client: what is left of the deadline, never more than its own."""
    if timeout is None:
        return {}
    return {"timeout": max(0.5, min(timeout, float(getattr(llm, "timeout", timeout))))}


def chat(llm: OpenAILike, messages: Sequence[ChatMessage], timeout: float | None = None) -> str:
    """The whole reply text."""
    try:
        return llm.chat(list(messages), **_timeout(llm, timeout)).message.content or ""
    except Exception as exc:  # the client raises openai, httpx and parsing errors; all mean "no answer"
        raise _error(exc) from exc


def stream_chat(
    llm: OpenAILike, messages: Sequence[ChatMessage], timeout: float | None = None
) -> Iterator[str]:
    """The reply as it is generated, one text delta at a time."""
    try:
        for chunk in llm.stream_chat(list(messages), **_timeout(llm, timeout)):
            if chunk.delta:
                yield chunk.delta
    except Exception as exc:
        raise _error(exc) from exc


T = TypeVar("T")


def within(work: Callable[[threading.Event], T], until: Callable[[], float], poll: float = 0.05) -> T:
    """`work(stop)` in a daemon thread, given up when the clock passes `until()` (re-read while waiting, so
    a shutdown can bring it closer): then `stop` is set, so the work stops reading, and LLMError("deadline").

    The openai client retries and times out per request; this bounds the whole call, retries included.
    """
    stop = threading.Event()
    done = threading.Event()
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = work(stop)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="khabar-llm", daemon=True).start()
    try:
        while not done.wait(poll):
            if time.monotonic() >= until():
                raise LLMError("deadline")
    except BaseException:  # the deadline, or Ctrl-C in a terminal: the worker stops reading and showing
        stop.set()
        raise
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
