"""Bytes of an HTML or XML document -> text, when the declared charset may be wrong.

Older Arabic sites often serve windows-1256 while declaring UTF-8 or ISO-8859-1 (or declare nothing).
Decoding with the declared charset then either fails or silently yields Latin mojibake ("ÇáÚÑÇÞ"), which
would be indexed and quoted as if it were the article. Order of trust: a byte-order mark; valid UTF-8 (bytes
in another encoding are practically never valid UTF-8 by accident); a declared charset that decodes strictly
and is not a Latin single-byte code page (those decode any bytes, so they prove nothing); then detection from
the bytes (charset-normalizer).
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.-]+)["']""", re.I)
# Code pages that map every byte to some character: a strict decode with them proves nothing.
_PERMISSIVE = {"iso8859-1", "iso8859-15", "cp1252", "ascii"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def declared_charsets(content: bytes, http_charset: str | None = None) -> list[str]:
    """Charsets the document claims, HTTP header first, then <meta charset> / the XML declaration."""
    head = content[:4096]
    found = [http_charset] if http_charset else []
    for pattern in (_META_CHARSET, _XML_ENCODING):
        match = pattern.search(head)
        if match:
            found.append(match.group(1).decode("ascii"))
    return found


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_markup(content: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """(text, the encoding it was decoded with) for an HTML/XML document whose declaration may lie."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content.decode(encoding, errors="replace"), encoding
    if content.isascii():
        return content.decode("ascii"), "ascii"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = [c for c in (_codec(name) for name in declared_charsets(content, http_charset)) if c]
    for encoding in declared:
        if encoding in _PERMISSIVE or encoding == "utf-8":
            continue
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    best = charset_normalizer.from_bytes(content).best()
    if best is not None:
        return str(best), best.encoding
    fallback = next((c for c in declared if c in _PERMISSIVE), "utf-8")
    return content.decode(fallback, errors="replace"), fallback
