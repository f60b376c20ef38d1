"""What an attacker types: hostile text, ids in every form Python accepts, wrong JSON.

Text is meant to reach the server as it was drawn: bodies are encoded with JSON escapes
(`\\u0000`, `\\ud800`), so NUL and lone surrogates really arrive, or as raw bytes that are
not UTF-8 at all.
"""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

NUL = "\x00"
BIDI = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e"
# Strings known to break one layer or another: PostgreSQL (NUL in text and jsonb, \u0000
# escapes), JSON (lone surrogates), terminals and logs (escapes, line separators), HTML,
# SQL, paths, format strings, and the look-alikes of e-mail addresses.
VECTORS = (
    NUL,
    f"a{NUL}b",
    "\\u0000",
    "\ud800",
    "\udfff",
    "x\udc00y",
    "\ud83d",  # the first half of an emoji
    "\u202egpj.exe",
    "\u2066admin\u2069",
    "ad\u200bmin@example.com",
    "\uff21\uff24\uff2d\uff29\uff2e@example.com"  # fullwidth ADMIN,
    "\x1b[31mred\x1b[0m",
    "\r\nSet-Cookie: x=1",
    "\u2028\u2029",
    "\x85\x9f\x7f",
    "\ufffe\uffff\U0010ffff",
    "'; DROP TABLE llmchat_events; --",
    "%00%2e%2e%2f",
    "../../etc/passwd",
    "{{7*7}}%s%n",
    "<script>alert(1)</script>",
    "",
    " ",
)
LONG_LENGTHS = (256, 1025, 10_001, 100_000, 1_000_000)


def controls() -> st.SearchStrategy[str]:
    """C0 (with NUL), DEL and C1."""
    return st.characters(min_codepoint=0, max_codepoint=0x1F) | st.characters(
        min_codepoint=0x7F, max_codepoint=0x9F
    )


def hostile_chars() -> st.SearchStrategy[str]:
    return st.one_of(
        controls(),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
        st.sampled_from(BIDI + ZERO_WIDTH),
        st.characters(codec=None, exclude_categories=[]),
    )


def long_text() -> st.SearchStrategy[str]:
    """A very long string, with a hostile character in it now and then."""
    return st.builds(
        lambda filler, length, poison: (filler * length)[:length] + poison,
        st.sampled_from(("a", "é", "字", "\U0001f600", "\u202e")),
        st.sampled_from(LONG_LENGTHS),
        st.sampled_from(("", NUL, "\ud800", "\u202e")),
    )


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(hostile_chars(), max_size=max_size),
        st.sampled_from(VECTORS),
        long_text(),
        st.text(max_size=max_size),
    )


def bounded_text(max_size: int) -> st.SearchStrategy[str]:
    """Hostile, but never longer than `max_size` (a field whose length is not the point)."""
    return st.one_of(st.text(hostile_chars(), max_size=max_size), st.sampled_from(VECTORS))


def real_id(real: str) -> st.SearchStrategy[str]:
    """`real` as the server spells it, or one time in three in another spelling."""
    return either(Field(st.just(real), id_forms(real)))


def id_forms(real: str) -> st.SearchStrategy[str]:
    """`real` (an id the server made) as every spelling `uuid.UUID` reads the same, and as
    the broken spellings next to them."""
    try:
        parsed = uuid.UUID(real)
    except ValueError:
        return st.sampled_from((real, real.upper(), real + NUL, f" {real} ", real + "\n"))
    canonical = str(parsed)
    return st.sampled_from(
        (
            canonical,
            canonical.upper(),
            parsed.hex,
            parsed.hex.upper(),
            f"urn:uuid:{canonical}",
            f"URN:UUID:{canonical}",
            f"{{{canonical}}}",
            f"{{{parsed.hex}}}",
            f" {canonical} ",
            canonical + "\n",
            canonical + NUL,
            canonical[:8] + NUL + canonical[8:],
            canonical[:-1],
            canonical + "0",
            canonical.replace("-", "_"),
            canonical + "\u200b",
            "\u202e" + canonical,
        )
    )


def any_id(real: str | None = None, in_url: bool = False) -> st.SearchStrategy[str]:
    """An id: a spelling of `real`, someone else's or no one's uuid, or hostile text (no
    longer than a URL can carry, `in_url`)."""
    text = url_text() if in_url else hostile_text()
    choices: list[st.SearchStrategy[str]] = [
        st.uuids().map(str),
        st.uuids().flatmap(lambda u: id_forms(str(u))),
        st.sampled_from(("00000000-0000-0000-0000-000000000000", "0", "-1", "null", "..")),
        text,
    ]
    if real is not None:
        choices[:0] = [real_id(real), real_id(real)]
    return st.one_of(choices)


def url_text() -> st.SearchStrategy[str]:
    """Hostile text for a path or query: a URL holds 64 KiB (percent-encoded, up to nine
    bytes a character), so long means a few thousand characters here."""
    return st.one_of(bounded_text(40), st.sampled_from(("a" * 5000, "\u202e" * 700)))


def huge_numbers() -> st.SearchStrategy[int | float]:
    return st.one_of(
        st.sampled_from(
            (
                2**31,
                2**63 - 1,
                2**63,
                -(2**63) - 1,
                2**64,
                10**30,
                -(10**30),
                -1,
                0,
                1e308,
                -1e308,
                5e-324,
            )
        ),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value: for a field, the wrong type as often as not."""
    scalars = st.one_of(
        st.none(), st.booleans(), huge_numbers(), hostile_text(), st.sampled_from((1e309,))
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(hostile_text(12), inner, max_size=4)
        ),
        max_leaves=8,
    )


def deeply_nested() -> st.SearchStrategy[bytes]:
    """JSON nested deeper than any parser's recursion limit would like."""
    return st.builds(
        lambda depth, opener: opener * depth + {b"[": b"]", b'{"a":': b"}"}[opener] * depth,
        st.sampled_from((100, 1_000, 10_000, 100_000)),
        st.sampled_from((b"[", b'{"a":')),
    )


def garbage_bodies() -> st.SearchStrategy[bytes]:
    """Bodies that are not JSON, or not UTF-8."""
    return st.one_of(
        st.binary(max_size=64),
        st.sampled_from(
            (
                b"",
                b"{",
                b'{"a":',
                b"\xff\xfe{}",
                b'{"email":"\xed\xa0\x80"}',  # a surrogate spelt as UTF-8 bytes
                b'{"email":"a\x00b"}',  # a raw NUL inside a string
                b"null",
                b"[]",
                b'"text"',
                b"1e999999",
                b"9" * 5000,
                b'{"a":1,"a":2}',
            )
        ),
    )


def encoded(value: Any, raw: bool) -> bytes:
    """JSON with every non-ASCII character escaped (so lone surrogates survive as
    `\\udXXX`), or, `raw`, as the bytes themselves (surrogates as invalid UTF-8)."""
    if raw:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


@st.composite
def json_bodies(draw: st.DrawFn, typed: st.SearchStrategy[dict[str, Any]]) -> bytes:
    """Mostly a body of the route's shape with hostile values; else wrong types, unknown
    fields, deep nesting, or not JSON at all."""
    shape = draw(st.sampled_from(("typed",) * 8 + ("mistyped", "extra", "nested", "garbage")))
    if shape == "nested":
        return draw(deeply_nested())
    if shape == "garbage":
        return draw(garbage_bodies())
    body: Any = draw(typed)
    if shape == "mistyped" and isinstance(body, dict) and body:
        key = draw(st.sampled_from(sorted(body)))
        body = {**body, key: draw(json_values())}
    elif shape == "extra" and isinstance(body, dict):
        body = {**body, draw(hostile_text(12)): draw(json_values())}
    return encoded(body, raw=draw(st.booleans()))


def header_text() -> st.SearchStrategy[bytes]:
    """A header value the HTTP layer lets through (no CR, LF or NUL, no space at either end),
    in latin-1: bytes past 0x7F arrive as C1 controls and accented letters."""
    allowed = st.sampled_from([b for b in range(0x20, 0x100) if b != 0x7F] + [0x09])
    return st.one_of(
        st.lists(allowed, min_size=1, max_size=300).map(lambda b: bytes(b).strip(b" \t") or b"x"),
        st.sampled_from((b"\xe2\x80\xae", b"\xc2\x85", b"A" * 8000, b"\x1b[31m")),
    )


def plain_text(max_size: int = 30) -> st.SearchStrategy[str]:
    """Text nothing should refuse: letters, digits, punctuation and spaces of any script."""
    alphabet = st.characters(categories=["L", "N", "P", "Zs"])
    return st.text(alphabet, min_size=1, max_size=max_size)


@dataclass(frozen=True)
class Field:
    """One field of a body: what the route expects, what an attacker sends instead."""

    good: st.SearchStrategy[Any]
    bad: st.SearchStrategy[Any]
    required: bool = True


# A single value is hostile one time in three.
HOSTILE = st.sampled_from((False, False, True))


def either(field: Field) -> st.SearchStrategy[Any]:
    """The field's good value or, one time in three, a hostile one."""
    return HOSTILE.flatmap(lambda hostile: field.bad if hostile else field.good)


@st.composite
def objects(draw: st.DrawFn, fields: Mapping[str, Field]) -> dict[str, Any]:
    """An object of the route's shape with at most one hostile field: with several, the
    first refused would hide the others, and fewer cases would reach the use case and the
    event store. Optional fields may be left out."""
    hostile = draw(st.sampled_from([None, *fields]))
    body: dict[str, Any] = {}
    for name, field in fields.items():
        if not field.required and draw(st.booleans()):
            continue
        body[name] = draw(field.bad if name == hostile else field.good)
    return body
