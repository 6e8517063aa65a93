"""Question sets (the ../shared/eval/README.md format) and the gold rule that decides whether a citation is right.

A bad line is reported with its number and skipped, so one typo never costs a whole evaluation run; fields the
format does not know are ignored, so sets can carry extra annotations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from retrieval.corpus.dedup import MIN_SENTENCE_WORDS, words
from retrieval.text.arabic import normalize

LANGS = ("ar", "en")


@dataclass(frozen=True)
class Evidence:
    """A gold span: a sentence of `doc` that contains `text` (or lies inside it) is a correct citation."""

    doc: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    lang: str
    answerable: bool
    answers: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    answers_en: tuple[str, ...] = ()
    # Gold evidence whose articles were all hidden from the store (`hide_gold`): the question is unanswerable
    # there, and this keeps what its gold was for the per-question report.
    hidden_evidence: tuple[Evidence, ...] = ()
    # The evidence articles' sentences that hold a gold span, as `copy_words` (filled by `with_copies` from the
    # store): the same sentence printed word for word in another article is the same evidence.
    evidence_sentences: tuple[str, ...] = ()

    @property
    def gold_docs(self) -> frozenset[str]:
        return frozenset(e.doc for e in self.evidence)

    @property
    def hidden_gold(self) -> bool:
        """Unanswerable only because its gold articles are not in the store: a hidden-article negative."""
        return bool(self.hidden_evidence)

    @property
    def gold_answers(self) -> tuple[str, ...]:
        """Every acceptable answer string: the set's own and, for cross-lingual sets, the English ones."""
        return self.answers + self.answers_en


@dataclass
class QuestionSet:
    """The questions that loaded, and (line number, reason) for each line that did not."""

    questions: list[Question] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


class QuestionSetError(ValueError):
    """The file as a whole cannot be read (missing, not UTF-8, or not one usable line)."""


def load_questions(path: Path) -> QuestionSet:
    """Read a question set; malformed lines become `problems`, duplicate ids keep the first occurrence."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise QuestionSetError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise QuestionSetError(f"{path}: not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise QuestionSetError(f"{path}: {exc.strerror or exc}") from None
    result = QuestionSet()
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = parse_question(json.loads(line))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            result.problems.append((number, str(exc)))
            continue
        if question.id in seen:
            result.problems.append((number, f"duplicate id {question.id!r}"))
            continue
        seen.add(question.id)
        result.questions.append(question)
    if not result.questions:
        detail = f": line {result.problems[0][0]}: {result.problems[0][1]}" if result.problems else ""
        raise QuestionSetError(f"{path}: no usable questions{detail}")
    return result


def parse_question(record: object) -> Question:
    """One record into a Question; raises ValueError naming the first field that is wrong."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    qid = record.get("id")
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid.strip():
        raise ValueError("'id' must be a non-empty string")
    text = record.get("question")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'question' must be a non-empty string")
    lang = record.get("lang")
    if lang not in LANGS:
        raise ValueError(f"'lang' must be one of {', '.join(LANGS)}")
    answerable = record.get("answerable")
    if not isinstance(answerable, bool):
        raise ValueError("'answerable' must be true or false")
    answers = _strings(record.get("answers", []), "answers")
    answers_en = _strings(record.get("answers_en", []), "answers_en")
    evidence = _evidence(record.get("evidence", []))
    if answerable and not evidence:
        raise ValueError("an answerable question needs at least one 'evidence' item")
    if not answerable and evidence:
        raise ValueError("an unanswerable question must have no 'evidence'")
    return Question(qid.strip(), text, lang, answerable, answers, evidence, answers_en)


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{name}' must be a list of strings")
    return tuple(v for v in value if v.strip())


def _evidence(value: object) -> tuple[Evidence, ...]:
    if not isinstance(value, list):
        raise ValueError("'evidence' must be a list")
    items = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError("each 'evidence' item must be an object with 'doc' and 'text'")
        doc, text = item.get("doc"), item.get("text")
        if not isinstance(doc, str) or not doc.strip() or not isinstance(text, str) or not text.strip():
            raise ValueError("each 'evidence' item needs a non-empty 'doc' and 'text'")
        items.append(Evidence(doc.strip(), text))
    return tuple(items)


# ---- gold matching ------------------------------------------------------------------------------


def is_gold_passage(doc_id: str, text: str, evidence: Iterable[Evidence], copies: Iterable[str] = ()) -> bool:
    """A cited passage (khabar's sentence, the baseline's chunk) is gold when it is in an evidence doc and contains
    the span, or lies inside it; or when it holds, word for word, a whole sentence of an evidence doc that does
    (`copies`, from `with_copies`): a wire copy or a twin paragraph prints the same evidence. One rule for every
    method.

    Both sides are compared as `normalize` keys (diacritics, tatweel, alef/yaa/taa-marbuta, digits), so a
    sentence quoted with its original diacritics still matches a plain gold span.
    """
    key = normalize(text)
    if any(item.doc == doc_id and _meets(normalize(item.text), key) for item in evidence):
        return True
    copies = tuple(copies)
    passage = f" {copy_words(text)} " if copies else ""
    return any(f" {sentence} " in passage for sentence in copies)


def _meets(span: str, key: str) -> bool:
    """Whether a passage (`key`) holds a gold span or lies inside it, both as `normalize` keys."""
    return bool(span and key and (span in key or key in span))


def copy_words(text: str) -> str:
    """A sentence as its normalised words (punctuation dropped), to find it word for word inside a passage."""
    return " ".join(words(text))


def with_copies(q: Question, sentences: Mapping[str, Sequence[str]]) -> Question:
    """`q` with the sentences of its evidence articles (`sentences`: doc id -> the store's sentence texts) that
    hold a gold span, so that the same sentence quoted from another article counts. Sentences shorter than
    `MIN_SENTENCE_WORDS` words are left out: they are too short to show that a passage copies them."""
    found = []
    for item in q.evidence:
        span = normalize(item.text)
        for sentence in sentences.get(item.doc, ()):
            if _meets(span, normalize(sentence)) and len(words(sentence)) >= MIN_SENTENCE_WORDS:
                found.append(copy_words(sentence))
    return replace(q, evidence_sentences=tuple(dict.fromkeys(found)))


is_gold_sentence = is_gold_passage  # the name benchmarks/rank_data.py imports


def hide_gold(questions: Iterable[Question], hidden_docs: frozenset[str]) -> list[Question]:
    """The questions as they stand over a store without `hidden_docs`: an answerable question whose gold articles
    are all hidden becomes unanswerable (abstaining is then right); one with a gold article left stays answerable.
    """
    result = []
    for q in questions:
        if q.answerable and q.gold_docs <= hidden_docs:
            q = replace(q, answerable=False, evidence=(), hidden_evidence=q.evidence)
        result.append(q)
    return result


def answerable_through_copies(
    q: Question, hidden_texts: Mapping[str, str], sentences: Mapping[str, Sequence[str]]
) -> Question:
    """A question `hide_gold` made unanswerable stays answerable when a kept article (`sentences`: doc id -> its
    stored sentence texts) prints, word for word, a sentence of a hidden gold article (`hidden_texts`: doc id ->
    full text) that holds the span: the answer is still in the store. Its evidence then points at those
    sentences' articles."""
    found: list[Evidence] = []
    for item in q.hidden_evidence:
        span, article = normalize(item.text), f" {copy_words(hidden_texts.get(item.doc, ''))} "
        for doc, texts in sentences.items():
            for sentence in texts:
                if not _meets(span, normalize(sentence)) or len(words(sentence)) < MIN_SENTENCE_WORDS:
                    continue
                if f" {copy_words(sentence)} " in article:
                    found.append(Evidence(doc, item.text))
    if not found:
        return q
    return replace(q, answerable=True, evidence=tuple(dict.fromkeys(found)), hidden_evidence=())


def contains_answer(answer_text: str, gold_answers: Iterable[str]) -> bool:
    """Whether the normalised answer text contains any normalised gold answer string."""
    key = normalize(answer_text)
    return any((gold := normalize(g)) and gold in key for g in gold_answers)
