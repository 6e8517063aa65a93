"""Generative answers: prompt the LLM with numbered source sentences, stream its reply, verify it, or fall back.

The model only ever sees sentences from search, numbered [1]..[k] and wrapped as untrusted data; what users see
as sources is always the stored sentence behind a number that was given, and only when the verifier found that
the answer sentence citing it is supported. Anything else ends in the extractive answer, with a notice.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.llms.openai_like import OpenAILike

from prompts import phrases
from retrieval.answer.citations import strip_markers
from retrieval.answer.extractive import Answer, AnswerSentence, Citation, extractive_answer
from retrieval.answer.verify.checker import Evidence, SupportChecker
from retrieval.llm.client import LLMError, chat, stream_chat, within
from retrieval.llm.prompting import as_data, prompt_sections, time_left
from retrieval.search.searcher import SentenceHit
from retrieval.text.arabic import normalize, split_sentences
from retrieval.text.language import Lang, detect_language
from retrieval.text.planted import is_instruction

TokenFn = Callable[[str], None]
History = list[tuple[str, str]]


@dataclass(frozen=True)
class Source:
    """Sentence number n as given to the model."""

    n: int
    hit: SentenceHit


def planted_hits(hits: list[SentenceHit]) -> dict[str, str]:
    """Sentence id -> reason for every planted sentence among the hits: the flag ingest stored
    (`retrieval.text.planted`, judged with the whole article; search already leaves such sentences out), and for a
    hit without one (built elsewhere) the same module's check for orders to a model."""
    return {
        h.sentence_id: h.planted or "gives orders or addresses automated readers"
        for h in hits
        if h.planted or is_instruction(h.text)
    }


def choose_sources(hits: list[SentenceHit], k: int, planted: Mapping[str, str] | None = None) -> list[Source]:
    """The k best distinct sentences, numbered from 1; planted sentences are never given to the model."""
    planted = planted_hits(hits) if planted is None else planted
    chosen: list[Source] = []
    seen: set[str] = set()
    for hit in hits:
        key = normalize(hit.text)
        if key in seen or hit.sentence_id in planted:
            continue
        seen.add(key)
        chosen.append(Source(len(chosen) + 1, hit))
        if len(chosen) == k:
            break
    return chosen


# ---- prompts -----------------------------------------------------------------------------------------


def answer_messages(question: str, lang: Lang, sources: list[Source]) -> list[ChatMessage]:
    prompt = prompt_sections(f"answer_{lang}.txt")
    listing = "\n".join(f"[{s.n}] {as_data(s.hit.text)}" for s in sources)
    return [
        ChatMessage(
            role=MessageRole.SYSTEM, content=prompt["system"].format(abstain=phrases(lang)["abstain"])
        ),
        ChatMessage(
            role=MessageRole.USER, content=prompt["user"].format(sources=listing, question=as_data(question))
        ),
    ]


def retry_messages(messages: list[ChatMessage], reply: str, lang: Lang) -> list[ChatMessage]:
    """The conversation again, with the off-language reply and a request to answer in `lang`."""
    return [
        *messages,
        ChatMessage(role=MessageRole.ASSISTANT, content=reply),
        ChatMessage(role=MessageRole.USER, content=prompt_sections(f"answer_{lang}.txt")["retry"]),
    ]


def condense_messages(question: str, history: History, lang: Lang, turns: int = 3) -> list[ChatMessage]:
    prompt = prompt_sections(f"condense_{lang}.txt")
    lines = []
    for asked, answered in history[-turns:]:
        lines += [f"User: {as_data(asked)}", f"Assistant: {as_data(strip_markers(answered))[:600]}"]
    return [
        ChatMessage(role=MessageRole.SYSTEM, content=prompt["system"]),
        ChatMessage(
            role=MessageRole.USER,
            content=prompt["user"].format(history="\n".join(lines), question=as_data(question)),
        ),
    ]


def condense(
    llm: OpenAILike,
    question: str,
    history: History,
    lang: Lang,
    max_chars: int,
    deadline: Callable[[], float] | None = None,
) -> str:
    """A standalone question for a follow-up; raises LLMError, or ValueError for an unusable reply."""
    until = deadline or (lambda: math.inf)
    messages = condense_messages(question, history, lang)
    reply = within(lambda stop: chat(llm, messages, time_left(until)), until)
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


def _collect(
    chunks: Iterator[str], on_token: TokenFn, stop: threading.Event | None = None, max_chars: int = 0
) -> str:
    """Stream the answer part of the reply: a leading thinking block is never shown, markers only when whole.

    Reading stops when `stop` is set (the deadline passed) or once the answer part exceeds `max_chars`.
    """
    buffer, parts, shown_from = CitationBuffer(), [], 0
    for delta in chunks:
        if stop is not None and stop.is_set():
            break
        parts.append(delta)
        raw = "".join(parts)
        head = raw.lstrip()
        if _THINK_OPEN.startswith(head[: len(_THINK_OPEN)]) and _THINK_CLOSE not in head:
            continue  # still (possibly) inside a thinking block
        answer = strip_thinking(raw)
        new, shown_from = answer[shown_from:], len(answer)
        shown = buffer.feed(new)
        if shown and not (stop is not None and stop.is_set()):
            on_token(shown)
        if max_chars and len(answer) > max_chars:
            break  # the rest would be cut before verifying: stop paying for it
    rest = buffer.flush()
    if rest and not (stop is not None and stop.is_set()):
        on_token(rest)
    return "".join(parts)


def generate(
    llm: OpenAILike,
    messages: list[ChatMessage],
    on_token: TokenFn | None = None,
    until: Callable[[], float] | None = None,
    max_chars: int = 0,
) -> str:
    """The model's raw reply (thinking included, see `answer_part`); streamed through `on_token` (complete
    citation markers only) when given; abandoned with LLMError("deadline") when the clock passes `until()`."""
    until = until or (lambda: math.inf)
    if on_token is None:
        return within(lambda stop: chat(llm, messages, time_left(until)), until)
    return within(
        lambda stop: _collect(stream_chat(llm, messages, time_left(until)), on_token, stop, max_chars), until
    )


def answer_part(reply: str) -> tuple[str, str]:
    """The reply without its thinking block, and "empty" or "thinking" when nothing usable is left.

    A reasoning model cut off inside `<think>` (max tokens, a stalled server) leaves no answer at all; saying so
    is more honest than treating the silence as an answer in the wrong language.
    """
    text = strip_thinking(reply)
    if strip_markers(text).strip(" .[]\n"):
        return text, ""
    unclosed = reply.lstrip().startswith(_THINK_OPEN) and _THINK_CLOSE not in reply
    return "", "thinking" if unclosed else "empty"


def cap_reply(reply: str, max_chars: int) -> tuple[str, bool]:
    """At most `max_chars` of the reply, cut at the last sentence end inside the limit; says whether it cut."""
    if not max_chars or len(reply) <= max_chars:
        return reply, False
    spans = [s for s in split_sentences(reply) if s.end <= max_chars]
    end = spans[-1].end if spans else max_chars
    # a citation marker right after the last kept sentence's full stop still belongs to it
    tail = re.match(r"(?:\s*[\[【(^][^\]】)\n]{0,20}[\]】)]?)*", reply[end : max_chars + 40])
    return reply[: end + (tail.end() if tail else 0)], True


# ---- answering -----------------------------------------------------------------------------------------


def _is_abstention(text: str) -> bool:
    """The fixed abstention phrase, in either language (checked apart from the answer's language)."""
    key = normalize(strip_markers(text))
    return any(normalize(phrases(lg)["abstain"]).rstrip(".") in key for lg in ("ar", "en"))


def reply_language(reply: str) -> Lang:
    return detect_language(strip_markers(reply))


@dataclass
class LLMAnswerer:
    """Prompt, generate (streaming or not), check the language, verify every sentence, or fall back.

    Cost and waiting are bounded: the reply is cut to `max_answer_chars` and `max_answer_sentences` before it is
    verified, and the whole answer (retries included; condensing too, when the caller passes the same
    deadline) gets `deadline` seconds, after which the extractive answer is shown. `stop_by` (a monotonic time,
    set by a front end that is shutting down) brings every answer in progress to an end by then.
    """

    llm: OpenAILike
    checker: SupportChecker
    sources: int = 8
    max_citations: int = 2
    abstain_below: Mapping[str, float] = field(default_factory=lambda: {"ar": 0.0, "en": 0.0})  # by language
    vectors: Callable[[list[str]], dict[str, np.ndarray]] | None = (
        None  # stored passage vectors by sentence id
    )
    max_answer_chars: int = 1500
    max_answer_sentences: int = 6
    deadline: float = 90.0
    stop_by: float = math.inf

    def clock(self, started: float | None = None) -> Callable[[], float]:
        """When an answer started at `started` must be over: its deadline, or a shutdown's, whichever is first."""
        ends = (started if started is not None else time.monotonic()) + self.deadline
        return lambda: min(ends, self.stop_by)

    def answer(
        self,
        question: str,
        lang: Lang,
        hits: list[SentenceHit],
        on_token: TokenFn | None = None,
        on_restart: TokenFn | None = None,
        asked: str | None = None,
        until: Callable[[], float] | None = None,
    ) -> Answer:
        """Answer `question` (the standalone form of `asked`, the user's own words, when they differ)."""
        asked = asked or question
        until = until or self.clock()
        text = phrases(lang)
        timings: dict[str, float] = {}
        planted = planted_hits(hits)
        sources = choose_sources(hits, self.sources, planted)
        if not sources or hits[0].score < self.abstain_below[lang]:
            # the same evidence gate as the extractive answer: when search found nothing strong enough, the
            # model is not asked to write from weak sources; abstaining is the right answer
            return Answer(question=asked, lang=lang, answer=text["abstain"], abstained=True, mode="llm")
        clean = [h for h in hits if h.sentence_id not in planted]  # never quoted either
        t0 = time.perf_counter()
        reply, notice = self._write(
            answer_messages(question, lang, sources), lang, on_token, on_restart, until
        )
        t1 = time.perf_counter()
        timings["llm_ms"] = (t1 - t0) * 1000
        if notice:
            return self._fallback(asked, lang, clean, notice, [], timings)
        reply, cut = cap_reply(reply, self.max_answer_chars)
        sentences = self.verify(reply, sources, lang)
        if len(sentences) > self.max_answer_sentences:
            sentences, cut = sentences[: self.max_answer_sentences], True
        timings["verify_ms"] = (time.perf_counter() - t1) * 1000
        answer = self._assemble(asked, lang, clean, sources, sentences, timings)
        if cut and answer.mode == "llm" and not answer.abstained:
            answer.notice = " ".join(n for n in (answer.notice, text["llm_cut"]) if n)
        return answer

    def _write(
        self,
        messages: list[ChatMessage],
        lang: Lang,
        on_token: TokenFn | None,
        on_restart: TokenFn | None,
        until: Callable[[], float],
    ) -> tuple[str, str]:
        """The model's reply in the asker's language (asked once more when it answered in another), or
        ("", notice) saying why there is none."""
        text = phrases(lang)
        try:
            reply, notice = self._generate(messages, on_token, until, text)
            if notice or reply_language(reply) == lang or _is_abstention(reply):
                return reply, notice
            if on_restart:
                on_restart(text["llm_retry_language"])
            retry = retry_messages(messages, reply, lang)
            reply, notice = self._generate(retry, on_token, until, text)
            if notice or reply_language(reply) == lang or _is_abstention(reply):
                return reply, notice
            return "", text["llm_wrong_language"]
        except LLMError as exc:
            if (
                exc.kind == "deadline" or time.monotonic() >= until() - 0.25
            ):  # a client timeout at the deadline
                if self.stop_by <= time.monotonic():
                    return "", text["llm_shutdown"]
                return "", text["llm_deadline"].format(seconds=round(self.deadline))
            return "", text["llm_failed"].format(reason=exc.kind)

    def _generate(
        self,
        messages: list[ChatMessage],
        on_token: TokenFn | None,
        until: Callable[[], float],
        text: Mapping[str, str],
    ) -> tuple[str, str]:
        """One completion's answer part, or ("", notice) when it held only thinking or nothing."""
        raw = generate(self.llm, messages, on_token, until, self.max_answer_chars)
        reply, missing = answer_part(raw)
        if missing:
            return "", text["llm_thinking"] if missing == "thinking" else text["llm_empty"]
        return reply, ""

    def verify(self, reply: str, sources: list[Source], lang: Lang) -> list[AnswerSentence]:
        """Verdicts for the reply's sentences (at most `max_answer_sentences` are judged); an abstention
        sentence is kept apart, not judged as a claim."""
        stored = self.vectors([s.hit.sentence_id for s in sources]) if self.vectors else {}
        evidence = [Evidence(s.n, s.hit.text, stored.get(s.hit.sentence_id)) for s in sources]
        verdicts = self.checker.verify(reply, evidence, limit=self.max_answer_sentences + 1)
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
        citations = [Citation.from_hit(n, by_n[n]) for n in cited]
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
        """The extractive answer over `hits` (already without planted sentences), with the notice saying why."""
        answer = extractive_answer(asked, lang, hits, self.max_citations, self.abstain_below[lang])
        answer.mode = "fallback"
        answer.notice = notice
        answer.sentences = sentences
        answer.timings_ms = timings
        return answer
