"""A hostile request as bytes on the wire: percent-encoded paths, hand-built multipart."""

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

BOUNDARY = b"hostile-boundary-7c1f"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """Already percent-encoded (see `segment`)."""
    content: bytes = b""
    headers: Mapping[str, str | bytes] = field(default_factory=dict)
    query: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        body = self.content[:300] + (b"..." if len(self.content) > 300 else b"")
        query = urllib.parse.urlencode(self.query)[:300]
        headers = {k: v[:120] for k, v in self.headers.items() if k.lower() != "authorization"}
        return (
            f"{self.method} {self.path[:300]}{'?' + query if query else ''}"
            f" headers={headers!r} body({len(self.content)} bytes)={body!r}"
        )

    # Hypothesis prints the failing example with repr: a 12 MB body must not be all of it.
    __repr__ = describe


def raw(text: str) -> bytes:
    """UTF-8, with lone surrogates as the (invalid) bytes they would be."""
    return text.encode("utf-8", "surrogatepass")


def segment(text: str) -> str:
    """One path segment, percent-encoded from `raw` bytes."""
    return urllib.parse.quote(raw(text), safe="")


def quoted(value: bytes) -> bytes:
    return b'"' + value + b'"'


def multipart(parts: list[tuple[bytes, bytes]]) -> tuple[bytes, str]:
    """A multipart body from (part headers, content) pairs, built by hand: no client
    library would send the file names an attacker sends."""
    body = b"".join(
        b"--" + BOUNDARY + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
        for headers, content in parts
    )
    content_type = f"multipart/form-data; boundary={BOUNDARY.decode()}"
    return body + b"--" + BOUNDARY + b"--\r\n", content_type


def file_upload(
    path: str, name: str, content: bytes, headers: Mapping[str, str | bytes]
) -> Request:
    disposition = b'Content-Disposition: form-data; name="file"; filename=' + quoted(raw(name))
    body, content_type = multipart([(disposition, content)])
    return Request("POST", path, body, {**headers, "Content-Type": content_type})


def with_query(path: str, pairs: list[tuple[str, str]]) -> str:
    """`path?k=v&...`, percent-encoded from `raw` bytes (so NUL and lone surrogates go too)."""
    if not pairs:
        return path
    encoded = "&".join(f"{segment(name)}={segment(value)}" for name, value in pairs)
    return f"{path}?{encoded}"
