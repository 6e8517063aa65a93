"""Generative answers: prompt the LLM with numbered source sentences, stream its reply, verify it, or fall back.

The model only ever sees sentences from search, numbered [1]..[k] and wrapped as untrusted data; what users see
as sources is always the stored sentence behind a number that was given, and only when the verifier found that
the answer sentence citing it is supported. Anything else ends in the extractive answer, with a notice.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.llms.openai_like import OpenAILike

from prompts import load, phrases
from retrieval.answer import Answer, AnswerSentence, Citation, extractive_answer
from retrieval.language import Lang, detect_language
from retrieval.llm import LLMError, chat, stream_chat
from retrieval.search import SentenceHit
from retrieval.text import normalize
from retrieval.verify import Evidence, SupportChecker, is_instruction, strip_markers

TokenFn = Callable[[str], None]
History = list[tuple[str, str]]


@dataclass(frozen=True)
class Source:
    """Sentence number n as given to the model."""

    n: int
    hit: SentenceHit


def choose_sources(hits: list[SentenceHit], k: int) -> list[Source]:
    """The k best distinct sentences, numbered from 1; sentences that address the model are never given."""
    chosen: list[Source] = []
    seen: set[str] = set()
    for hit in hits:
        key = normalize(hit.text)
        if key in seen or is_instruction(hit.text):
            continue
        seen.add(key)
        chosen.append(Source(len(chosen) + 1, hit))
        if len(chosen) == k:
            break
    return chosen


# ---- prompts -----------------------------------------------------------------------------------------


def _sections(name: str) -> dict[str, str]:
    """A prompt file's `=== name ===` sections."""
    parts = re.split(r"^=== (\w+) ===\n", load(name), flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def _data(text: str) -> str:
    """Untrusted text inside the prompt's delimiters: on one line, unable to close or open a tag."""
    return " ".join(text.replace("<", "‹").replace(">", "›").split())


def answer_messages(question: str, lang: Lang, sources: list[Source]) -> list[ChatMessage]:
    prompt = _sections(f"answer_{lang}.txt")
    listing = "\n".join(f"[{s.n}] {_data(s.hit.text)}" for s in sources)
    return [
        ChatMessage(
            role=MessageRole.SYSTEM, content=prompt["system"].format(abstain=phrases(lang)["abstain"])
        ),
        ChatMessage(
            role=MessageRole.USER, content=prompt["user"].format(sources=listing, question=_data(question))
        ),
    ]


def retry_messages(messages: list[ChatMessage], reply: str, lang: Lang) -> list[ChatMessage]:
    """The conversation again, with the off-language reply and a request to answer in `lang`."""
    return [
        *messages,
        ChatMessage(role=MessageRole.ASSISTANT, content=reply),
        ChatMessage(role=MessageRole.USER, content=_sections(f"answer_{lang}.txt")["retry"]),
    ]


def condense_messages(question: str, history: History, lang: Lang, turns: int = 3) -> list[ChatMessage]:
    prompt = _sections(f"condense_{lang}.txt")
    lines = []
    for asked, answered in history[-turns:]:
        lines += [f"User: {_data(asked)}", f"Assistant: {_data(strip_markers(answered))[:600]}"]
    return [
        ChatMessage(role=MessageRole.SYSTEM, content=prompt["system"]),
        ChatMessage(
            role=MessageRole.USER,
            content=prompt["user"].format(history="\n".join(lines), question=_data(question)),
        ),
    ]


def condense(llm: OpenAILike, question: str, history: History, lang: Lang, max_chars: int) -> str:
    """A standalone question for a follow-up; raises LLMError, or ValueError for an unusable reply."""
    reply = chat(llm, condense_messages(question, history, lang))
    lines = [line.strip().strip("\"'«»“”").strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines or len(lines[0]) > max_chars:
        raise ValueError("no standalone question in the reply")
    return lines[0]


# ---- streaming -----------------------------------------------------------------------------------------

_PARTIAL_MARKER = re.compile(r"\[[\d\s,،]*$")


class CitationBuffer:
    """Passes streamed text through, holding back a citation marker until it is complete ("[1" waits for "]")."""

    def __init__(self, max_hold: int = 16):
        self.pending = ""
        self.max_hold = max_hold

    def feed(self, delta: str) -> str:
        text = self.pending + delta
        partial = _PARTIAL_MARKER.search(text)
        if partial and len(text) - partial.start() <= self.max_hold:
            self.pending = text[partial.start() :]
            return text[: partial.start()]
        self.pending = ""
        return text

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return text


_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_THINKING = re.compile(r"^\s*<think>.*?(?:</think>|$)", re.DOTALL)


def strip_thinking(reply: str) -> str:
    """The reply without a leading <think>...</think> block (reasoning models served by llama.cpp or Ollama)."""
    return _THINKING.sub("", reply, count=1).lstrip()


def _collect(chunks: Iterator[str], on_token: TokenFn) -> str:
    """Stream the answer part of the reply: a leading thinking block is never shown, markers only when whole."""
    buffer, parts, shown_from = CitationBuffer(), [], 0
    for delta in chunks:
        parts.append(delta)
        raw = "".join(parts)
        head = raw.lstrip()
        if _THINK_OPEN.startswith(head[: len(_THINK_OPEN)]) and _THINK_CLOSE not in head:
            continue  # still (possibly) inside a thinking block
        answer = strip_thinking(raw)
        new, shown_from = answer[shown_from:], len(answer)
        shown = buffer.feed(new)
        if shown:
            on_token(shown)
    rest = buffer.flush()
    if rest:
        on_token(rest)
    return strip_thinking("".join(parts))


def generate(llm: OpenAILike, messages: list[ChatMessage], on_token: TokenFn | None = None) -> str:
    """The model's answer; streamed through `on_token` (complete citation markers only) when given."""
    if on_token is None:
        return strip_thinking(chat(llm, messages))
    return _collect(stream_chat(llm, messages), on_token)


# ---- answering -----------------------------------------------------------------------------------------


def _is_abstention(text: str) -> bool:
    """The fixed abstention phrase, in either language (checked apart from the answer's language)."""
    key = normalize(strip_markers(text))
    return any(normalize(phrases(lg)["abstain"]).rstrip(".") in key for lg in ("ar", "en"))


def reply_language(reply: str) -> Lang:
    return detect_language(strip_markers(reply))


@dataclass
class LLMAnswerer:
    """Prompt, generate (streaming or not), check the language, verify every sentence, or fall back."""

    llm: OpenAILike
    checker: SupportChecker
    sources: int = 8
    max_citations: int = 2
    abstain_below: Mapping[str, float] = field(default_factory=lambda: {"ar": 0.0, "en": 0.0})  # by language
    vectors: Callable[[list[str]], dict[str, np.ndarray]] | None = (
        None  # stored passage vectors by sentence id
    )

    def answer(
        self,
        question: str,
        lang: Lang,
        hits: list[SentenceHit],
        on_token: TokenFn | None = None,
        on_restart: TokenFn | None = None,
        asked: str | None = None,
    ) -> Answer:
        """Answer `question` (the standalone form of `asked`, the user's own words, when they differ)."""
        asked = asked or question
        text = phrases(lang)
        timings: dict[str, float] = {}
        sources = choose_sources(hits, self.sources)
        if not sources or hits[0].score < self.abstain_below[lang]:
            # the same evidence gate as the extractive answer: when search found nothing strong enough, the
            # model is not asked to write from weak sources; abstaining is the right answer
            return Answer(question=asked, lang=lang, answer=text["abstain"], abstained=True, mode="llm")
        messages = answer_messages(question, lang, sources)
        t0 = time.perf_counter()
        try:
            reply = generate(self.llm, messages, on_token)
            if reply_language(reply) != lang and not _is_abstention(reply):
                if on_restart:
                    on_restart(text["llm_retry_language"])
                reply = generate(self.llm, retry_messages(messages, reply, lang), on_token)
                if reply_language(reply) != lang and not _is_abstention(reply):
                    timings["llm_ms"] = (time.perf_counter() - t0) * 1000
                    return self._fallback(asked, lang, hits, text["llm_wrong_language"], [], timings)
        except LLMError as exc:
            timings["llm_ms"] = (time.perf_counter() - t0) * 1000
            return self._fallback(asked, lang, hits, text["llm_failed"].format(reason=exc.kind), [], timings)
        t1 = time.perf_counter()
        timings["llm_ms"] = (t1 - t0) * 1000
        sentences = self.verify(reply, sources, lang)
        timings["verify_ms"] = (time.perf_counter() - t1) * 1000
        return self._assemble(asked, lang, hits, sources, sentences, timings)

    def verify(self, reply: str, sources: list[Source], lang: Lang) -> list[AnswerSentence]:
        """Verdicts for every reply sentence; an abstention sentence is kept apart, not judged as a claim."""
        stored = self.vectors([s.hit.sentence_id for s in sources]) if self.vectors else {}
        evidence = [Evidence(s.n, s.hit.text, stored.get(s.hit.sentence_id)) for s in sources]
        verdicts = self.checker.verify(reply, evidence)
        for verdict in verdicts:
            if _is_abstention(verdict.text):
                verdict.citations, verdict.supported, verdict.reason = [], False, "abstention"
                verdict.text = phrases(lang)["abstain"]
        return verdicts

    def _assemble(
        self,
        asked: str,
        lang: Lang,
        hits: list[SentenceHit],
        sources: list[Source],
        sentences: list[AnswerSentence],
        timings: dict[str, float],
    ) -> Answer:
        text = phrases(lang)
        kept = [s for s in sentences if s.supported]
        dropped = [s for s in sentences if not s.supported and s.reason != "abstention"]
        if not kept:
            if any(s.reason == "abstention" for s in sentences) and not dropped:
                return Answer(
                    question=asked,
                    lang=lang,
                    answer=text["abstain"],
                    abstained=True,
                    mode="llm",
                    sentences=sentences,
                    timings_ms=timings,
                )
            return self._fallback(asked, lang, hits, text["llm_unsupported"], sentences, timings)
        by_n = {s.n: s.hit for s in sources}
        cited = sorted({n for s in kept for n in s.citations})
        citations = [
            Citation(
                n=n, doc_id=h.doc_id, sentence_id=h.sentence_id, title=h.title, text=h.text, score=h.score
            )
            for n in cited
            for h in [by_n[n]]
        ]
        return Answer(
            question=asked,
            lang=lang,
            answer=" ".join(s.text for s in kept),
            abstained=False,
            citations=citations,
            mode="llm",
            notice=text["llm_removed"].format(count=len(dropped)) if dropped else "",
            sentences=sentences,
            timings_ms=timings,
        )

    def _fallback(
        self,
        asked: str,
        lang: Lang,
        hits: list[SentenceHit],
        notice: str,
        sentences: list[AnswerSentence],
        timings: dict[str, float],
    ) -> Answer:
        clean = [h for h in hits if not is_instruction(h.text)]  # never quote a planted instruction either
        answer = extractive_answer(asked, lang, clean, self.max_citations, self.abstain_below[lang])
        answer.mode = "fallback"
        answer.notice = notice
        answer.sentences = sentences
        answer.timings_ms = timings
        return answer
