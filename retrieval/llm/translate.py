"""Search an English question through its Arabic rewrite (with an LLM configured): the articles are Arabic.

Cross-lingual sentence choice is khabar's weakest step (README, Tuning: on XQuAD, the English questions' first
sentence is right 0.65 of the time against 0.75 for the same questions asked in Arabic). With a language model
at hand, one short call rewrites the question in Arabic; search (and the answer-or-abstain decision) then uses
the Arabic ranker on the rewrite, while the answer is still written for the original question. Rewrites are
cached, so a repeated question costs nothing, and the call shares the answer's deadline.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from llama_index.core.llms import ChatMessage, MessageRole

from retrieval.index.recent import Recent
from retrieval.llm.client import chat, within
from retrieval.llm.prompting import as_data, prompt_sections, time_left
from retrieval.text.arabic import ARABIC_LETTER


class QueryTranslator:
    """English question -> Arabic search query, one cached LLM call per distinct question."""

    def __init__(self, llm, max_chars: int, cache_size: int = 512):
        self.llm = llm
        self.max_chars = max_chars
        self._cache: Recent[str, str] = Recent(cache_size)

    def messages(self, question: str) -> list[ChatMessage]:
        prompt = prompt_sections("translate_ar.txt")
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=prompt["system"]),
            ChatMessage(role=MessageRole.USER, content=prompt["user"].format(question=as_data(question))),
        ]

    def arabic(self, question: str, until: Callable[[], float] | None = None) -> str:
        """The Arabic rewrite; raises LLMError, or ValueError when the reply is not one Arabic line."""
        if (known := self._cache.get(question)) is not None:
            return known
        deadline = until or (lambda: math.inf)
        messages = self.messages(question)
        reply = within(lambda stop: chat(self.llm, messages, time_left(deadline)), deadline)
        lines = [line.strip().strip("\"'«»“”").strip() for line in reply.strip().splitlines() if line.strip()]
        if not lines or len(lines[0]) > self.max_chars or not ARABIC_LETTER.search(lines[0]):
            raise ValueError("no Arabic question in the reply")
        self._cache.put(question, lines[0])
        return lines[0]
