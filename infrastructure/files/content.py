"""What an upload is, judged from its name and its first bytes, and refused if they disagree.

The caller passes only the head of the file (a few KB), so every check here must work on a
prefix. Text files need the whole stream checked: feed it through `Utf8Check` while reading.
"""

import codecs
import re
from collections.abc import Callable
from typing import Final

import msgspec

HEAD_SIZE: Final = 8192
"""How many leading bytes callers should pass to `classify`; enough for every check here."""


class ContentRefused(Exception):
    """The upload is not acceptable; `reason` is meant for the person who sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FileKind(msgspec.Struct, frozen=True):
    type: str
    """One of "image", "document", "cad"."""
    extension: str
    """Lower case, without the dot."""
    content_type: str
    """MIME type to send as the download's Content-Type."""

    @property
    def must_be_utf8(self) -> bool:
        """The full stream, not only the head, has to pass `Utf8Check`."""
        return self.extension in _TEXT_EXTENSIONS


def _is_png(head: bytes) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _is_jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _is_gif(head: bytes) -> bool:
    return head.startswith((b"GIF87a", b"GIF89a"))


def _is_webp(head: bytes) -> bool:
    return head.startswith(b"RIFF") and head[8:12] == b"WEBP"


def _is_pdf(head: bytes) -> bool:
    return head.startswith(b"%PDF-")


def _is_zip(head: bytes) -> bool:
    # A .docx is a ZIP; its word/ entries may lie beyond the head, so the magic has to do.
    return head.startswith(b"PK\x03\x04")


def _is_ole2(head: bytes) -> bool:
    return head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


_DWG_MAGIC: Final = re.compile(rb"AC10[0-9]{2}")
BINARY_DXF_SENTINEL: Final = b"AutoCAD Binary DXF\r\n\x1a\x00"
_UTF8_BOM: Final = b"\xef\xbb\xbf"


def _is_dwg(head: bytes) -> bool:
    return _DWG_MAGIC.match(head) is not None


def _is_dxf(head: bytes) -> bool:
    if head.startswith(BINARY_DXF_SENTINEL):
        return True
    lines = head.removeprefix(_UTF8_BOM).lstrip().splitlines()
    # Writers may put 999 comment pairs before the first section.
    index = 0
    while index + 1 < len(lines) and lines[index].strip() == b"999":
        index += 2
    pair = [line.strip() for line in lines[index : index + 2]]
    return pair == [b"0", b"SECTION"]


def _is_utf8_prefix(head: bytes) -> bool:
    # final=False: the head may end inside a multi-byte character.
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


class _Format(msgspec.Struct, frozen=True):
    type: str
    content_type: str
    matches: Callable[[bytes], bool]
    description: str
    """Names the format in refusals: "… is not a <description>"."""


_IMAGE, _DOCUMENT, _CAD = "image", "document", "cad"
_FORMATS: Final[dict[str, _Format]] = {
    "jpg": _Format(_IMAGE, "image/jpeg", _is_jpeg, "JPEG image"),
    "jpeg": _Format(_IMAGE, "image/jpeg", _is_jpeg, "JPEG image"),
    "png": _Format(_IMAGE, "image/png", _is_png, "PNG image"),
    "gif": _Format(_IMAGE, "image/gif", _is_gif, "GIF image"),
    "webp": _Format(_IMAGE, "image/webp", _is_webp, "WebP image"),
    "pdf": _Format(_DOCUMENT, "application/pdf", _is_pdf, "PDF document"),
    "doc": _Format(_DOCUMENT, "application/msword", _is_ole2, "Word 97-2003 document"),
    "docx": _Format(
        _DOCUMENT,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _is_zip,
        "Word document",
    ),
    "txt": _Format(_DOCUMENT, "text/plain; charset=utf-8", _is_utf8_prefix, "UTF-8 text file"),
    "md": _Format(_DOCUMENT, "text/markdown; charset=utf-8", _is_utf8_prefix, "UTF-8 text file"),
    # The IANA-registered types for AutoCAD formats.
    "dxf": _Format(_CAD, "image/vnd.dxf", _is_dxf, "DXF drawing"),
    "dwg": _Format(_CAD, "image/vnd.dwg", _is_dwg, "DWG drawing"),
}
_TEXT_EXTENSIONS: Final = frozenset({"txt", "md"})
FILE_TYPES: Final = frozenset(fmt.type for fmt in _FORMATS.values())
ALLOWED_EXTENSIONS: Final = {
    file_type: tuple(ext for ext, fmt in _FORMATS.items() if fmt.type == file_type)
    for file_type in sorted(FILE_TYPES)
}


def extension_of(original_name: str) -> str:
    """The lower-case extension without the dot, or "" when the name has none."""
    # Browsers on Windows may send the full client path.
    base = re.split(r"[\\/]", original_name.strip())[-1]
    _, dot, extension = base.rpartition(".")
    return extension.lower() if dot else ""


def classify(original_name: str, head: bytes, declared_type: str | None) -> FileKind:
    """Tell what the upload is, or raise `ContentRefused` saying why it is not acceptable.

    `head` is the start of the file (see `HEAD_SIZE`); when the file is text, the caller
    must still run the whole stream through `Utf8Check` (see `FileKind.must_be_utf8`).
    """
    extension = extension_of(original_name)
    fmt = _FORMATS.get(extension)
    if fmt is None:
        raise ContentRefused(_bad_extension(original_name, extension))
    if declared_type is not None and declared_type != fmt.type:
        raise ContentRefused(_type_mismatch(declared_type, extension, fmt.type))
    if not head:
        raise ContentRefused("The file is empty.")
    if not fmt.matches(head):
        raise ContentRefused(
            f"The content of '{original_name}' is not a {fmt.description}, "
            f"as its extension .{extension} says."
        )
    return FileKind(type=fmt.type, extension=extension, content_type=fmt.content_type)


def _bad_extension(original_name: str, extension: str) -> str:
    allowed = "; ".join(
        f"{file_type}: {', '.join(exts)}" for file_type, exts in ALLOWED_EXTENSIONS.items()
    )
    what = f"extension .{extension}" if extension else "no extension"
    return f"'{original_name}' has {what}, which is not allowed. Allowed are {allowed}."


def _type_mismatch(declared_type: str, extension: str, actual_type: str) -> str:
    if declared_type not in FILE_TYPES:
        known = ", ".join(sorted(FILE_TYPES))
        return f"Unknown file type '{declared_type}'; it must be one of {known}."
    return f"The type '{declared_type}' does not match the extension .{extension}, a {actual_type}."


class Utf8Check:
    """Checks a stream as UTF-8 chunk by chunk, so a large text upload need not be held whole.

    Call `feed` with each chunk as it is read and `finish` at the end; both raise
    `ContentRefused` naming the offset of the first bad byte.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._consumed = 0

    def feed(self, chunk: bytes) -> None:
        # The decoder keeps an unfinished character from the last chunk; count it back
        # so the reported offset is in the whole stream.
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(chunk, final=False)
        except UnicodeDecodeError as exc:
            offset = self._consumed - pending + exc.start
            raise ContentRefused(f"The file is not valid UTF-8 text (byte {offset}).") from exc
        self._consumed += len(chunk)

    def finish(self) -> None:
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise ContentRefused(
                "The file is not valid UTF-8 text: it ends inside a character."
            ) from exc
