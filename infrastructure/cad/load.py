"""Bytes from an upload into an ezdxf document, or a `CadInvalid` saying why not.

ezdxf's recover mode repairs a lot and accepts even more: an empty stream, a stream cut in
half, or one without an ENTITIES section all load as an empty drawing. So the tag stream is
checked for an ENTITIES section and the EOF marker first; only then is recover mode used.
Recover mode reads ASCII DXF only; binary DXF goes through ezdxf's normal loader plus audit.
"""

import io
import time
from collections.abc import Callable, Iterable
from typing import Final, TypeVar

import msgspec
from ezdxf import recover
from ezdxf.document import Drawing
from ezdxf.lldxf.tagger import binary_tags_loader
from ezdxf.lldxf.types import DXFTag

from infrastructure.files.content import BINARY_DXF_SENTINEL

_DWG_MAGIC: Final = b"AC10"
_MAX_DETAIL_CHARS: Final = 300


class CadInvalid(Exception):
    """The bytes are not a readable DXF drawing; `details` says what is wrong."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class CadUnsupportedFormat(Exception):
    """The bytes are a CAD format other than DXF (DWG); `details` names DXF as the one to send."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class CadLimits(msgspec.Struct, frozen=True):
    """Bounds on the work one hostile file can cause."""

    max_entities: int = 20_000
    """Model space entities converted; beyond this the result is truncated."""
    max_block_depth: int = 8
    """INSERT nesting followed when measuring or drawing; deeper content is left out."""
    max_expanded_entities: int = 50_000
    """Entities produced by expanding blocks (ezdxf needs ~20-50 µs each); guards against
    blocks that insert blocks N times per level, N^depth in all."""
    max_seconds: float = 10.0
    """Time for loading and converting; conversion stops (truncated) when it is up. Loading
    cannot stop part way: the child process's limits bound it (`infrastructure.cad.child`)."""
    max_bytes: int = 10 * 1024 * 1024


DEFAULT_LIMITS: Final = CadLimits()


def load_document(data: bytes, limits: CadLimits) -> Drawing:
    """Load `data` as an audited ezdxf document; raise only CadInvalid or CadUnsupportedFormat
    (or MemoryError, which says the drawing is too complex, not that it is unreadable)."""
    _refuse_without_parsing(data, limits)
    try:
        if data.startswith(BINARY_DXF_SENTINEL):
            return _load_binary(data)
        return _load_ascii(data)
    except (CadInvalid, MemoryError):
        raise
    except Exception as exc:  # ezdxf raises many kinds of error on hostile input
        raise CadInvalid(describe_failure(exc)) from exc


T = TypeVar("T")


def read_with(data: bytes, limits: CadLimits, convert: Callable[[Drawing, CadLimits], T]) -> T:
    """Load the drawing and convert it, refusing anything unreadable as CadInvalid; the
    conversion gets the part of `limits.max_seconds` that loading left."""
    started = time.monotonic()
    doc = load_document(data, limits)
    left = limits.max_seconds - (time.monotonic() - started)
    try:
        return convert(doc, msgspec.structs.replace(limits, max_seconds=left))
    except (CadInvalid, MemoryError):
        raise
    except Exception as exc:  # a damaged file can break ezdxf anywhere in its entity code
        raise CadInvalid(describe_failure(exc)) from exc


def describe_failure(exc: Exception) -> str:
    detail = str(exc) or type(exc).__name__
    return f"not a readable DXF file: {detail}"[:_MAX_DETAIL_CHARS]


def _refuse_without_parsing(data: bytes, limits: CadLimits) -> None:
    if not data.strip():
        raise CadInvalid("the file is empty")
    if len(data) > limits.max_bytes:
        raise CadInvalid(f"the file is larger than {limits.max_bytes} bytes")
    if data.startswith(_DWG_MAGIC):
        raise CadUnsupportedFormat("DWG files cannot be read; export the drawing as DXF")


def _load_ascii(data: bytes) -> Drawing:
    _require_structure(recover.bytes_loader(io.BytesIO(data)))
    # "ignore" drops undecodable bytes; the default, surrogateescape, keeps them as lone
    # surrogates, which no JSON encoder accepts.
    doc, _auditor = recover.read(io.BytesIO(data), errors="ignore")
    return doc


def _load_binary(data: bytes) -> Drawing:
    tags = list(binary_tags_loader(data, errors="ignore"))
    _require_structure(tags)
    doc = Drawing.load(iter(tags))
    # recover.read audits; the binary path has to ask for it.
    doc.audit()
    return doc


def _require_structure(tags: Iterable[DXFTag]) -> None:
    """Refuse streams without an ENTITIES section or without EOF, which recover would accept."""
    has_entities = has_eof = False
    previous = (-1, "")
    for code, raw in tags:
        value = _text(raw)
        if previous == (0, "SECTION") and (code, value) == (2, "ENTITIES"):
            has_entities = True
        if (code, value) == (0, "EOF"):
            has_eof = True
        previous = (code, value)
    if not has_entities:
        raise CadInvalid("the file has no ENTITIES section")
    if not has_eof:
        raise CadInvalid("the file has no EOF marker; it may be truncated")


def _text(raw: object) -> str:
    if isinstance(raw, bytes):
        return raw.decode("latin-1").strip()
    return str(raw).strip()
