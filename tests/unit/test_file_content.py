"""Upload content checks: every allowed type accepted from real bytes, every refusal explained."""

import io
import itertools
import struct
import zipfile
import zlib

import pytest
from ezdxf.filemanagement import new as new_drawing
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.files.content import (
    ContentRefused,
    FileKind,
    Utf8Check,
    classify,
    extension_of,
)


def png_bytes() -> bytes:
    """A real 1x1 grey PNG."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    pixels = zlib.compress(b"\x00\x80")  # filter byte + one pixel
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xd9"


def gif_bytes() -> bytes:
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
        b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def webp_bytes() -> bytes:
    vp8l = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(vp8l)) + b"WEBP" + vp8l


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def doc_bytes() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def dxf_bytes() -> bytes:
    doc = new_drawing()
    doc.modelspace().add_line((0, 0), (1, 1))
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def binary_dxf_bytes() -> bytes:
    doc = new_drawing()
    doc.modelspace().add_line((0, 0), (1, 1))
    stream = io.BytesIO()
    doc.write(stream, fmt="bin")
    return stream.getvalue()


def dwg_bytes() -> bytes:
    return b"AC1032" + bytes(122)


CHINESE = "设计说明 第一版\n".encode()

ACCEPTED = [
    ("photo.png", png_bytes(), "image", "image/png"),
    ("photo.jpg", jpeg_bytes(), "image", "image/jpeg"),
    ("photo.jpeg", jpeg_bytes(), "image", "image/jpeg"),
    ("anim.gif", gif_bytes(), "image", "image/gif"),
    ("pic.webp", webp_bytes(), "image", "image/webp"),
    ("spec.pdf", pdf_bytes(), "document", "application/pdf"),
    ("old.doc", doc_bytes(), "document", "application/msword"),
    (
        "new.docx",
        docx_bytes(),
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("notes.txt", b"plain ascii\n", "document", "text/plain; charset=utf-8"),
    ("notes.txt", CHINESE, "document", "text/plain; charset=utf-8"),
    ("readme.md", "# 标题\n\n正文 *强调*\n".encode(), "document", "text/markdown; charset=utf-8"),
    ("plan.dxf", dxf_bytes(), "cad", "image/vnd.dxf"),
    ("plan.dxf", binary_dxf_bytes(), "cad", "image/vnd.dxf"),
    ("plan.dwg", dwg_bytes(), "cad", "image/vnd.dwg"),
]


@pytest.mark.parametrize(("name", "data", "file_type", "content_type"), ACCEPTED)
def test_every_allowed_type_is_accepted_from_its_real_bytes(name, data, file_type, content_type):
    extension = name.rsplit(".", 1)[1]
    expected = FileKind(type=file_type, extension=extension, content_type=content_type)

    assert classify(name, data[:8192], None) == expected
    assert classify(name, data[:8192], file_type) == expected


def test_extension_is_lower_cased_and_taken_from_the_last_path_segment():
    kind = classify("C:\\Users\\me\\Desktop\\PHOTO.PNG", png_bytes(), None)

    assert kind.extension == "png"
    assert extension_of("dir.v2/archive") == ""
    assert extension_of("a/b.tar.GZ") == "gz"


@pytest.mark.parametrize(
    "head",
    [
        b"999\nwritten by a tool\n  0\r\nSECTION\r\n  2\r\nHEADER\r\n",
        b"\xef\xbb\xbf\n  0\nSECTION\n",
        b"\n\n   0\n SECTION \n",
    ],
)
def test_dxf_may_start_with_comments_bom_or_whitespace(head):
    assert classify("a.dxf", head, "cad").extension == "dxf"


@pytest.mark.parametrize(
    "name", ["virus.exe", "archive.zip", "no_extension", "trailing.", "photo.svg", "a.tar.gz"]
)
def test_extension_outside_the_allow_list_is_refused_naming_what_is_allowed(name):
    with pytest.raises(ContentRefused) as refused:
        classify(name, b"anything", None)

    assert "not allowed" in refused.value.reason
    assert "image: jpg, jpeg, png, gif, webp" in refused.value.reason
    assert "cad: dxf, dwg" in refused.value.reason


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("fake.png", jpeg_bytes()),
        ("fake.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("fake.jpg", png_bytes()),
        ("fake.gif", b"GIF90a" + bytes(10)),
        ("fake.webp", b"RIFF\x00\x00\x00\x00WAVEfmt "),
        ("fake.pdf", b"%!PS-Adobe-3.0\n"),
        ("fake.docx", pdf_bytes()),
        ("fake.doc", docx_bytes()),
        ("fake.dxf", b"hello, I am not a drawing\n"),
        ("fake.dxf", b"  0\nLINE\n  8\n0\n"),
        ("fake.dwg", dxf_bytes()),
        ("fake.dwg", b"AC1.50" + bytes(20)),
        ("fake.txt", png_bytes()),
    ],
)
def test_content_that_does_not_match_its_extension_is_refused(name, data):
    with pytest.raises(ContentRefused) as refused:
        classify(name, data, None)

    assert name in refused.value.reason
    assert "extension" in refused.value.reason


@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        ("spec.pdf", pdf_bytes(), "image"),
        ("photo.png", png_bytes(), "cad"),
        ("plan.dxf", dxf_bytes(), "document"),
    ],
)
def test_declared_type_that_contradicts_the_extension_is_refused(name, data, declared):
    with pytest.raises(ContentRefused) as refused:
        classify(name, data, declared)

    assert f"'{declared}' does not match" in refused.value.reason


def test_unknown_declared_type_is_refused_listing_the_known_ones():
    with pytest.raises(ContentRefused) as refused:
        classify("photo.png", png_bytes(), "video")

    assert "Unknown file type 'video'" in refused.value.reason
    assert "cad, document, image" in refused.value.reason


@pytest.mark.parametrize("name", ["notes.txt", "readme.md"])
@pytest.mark.parametrize(
    "data", [b"caf\xe9 latin-1", b"\xff\xfeu\x00t\x00f\x00", b"ok \xc3\x28 bad continuation"]
)
def test_text_that_is_not_utf8_is_refused(name, data):
    with pytest.raises(ContentRefused, match="UTF-8"):
        classify(name, data, "document")


@pytest.mark.parametrize("name", ["photo.png", "notes.txt", "plan.dxf"])
def test_empty_file_is_refused(name):
    with pytest.raises(ContentRefused, match="empty"):
        classify(name, b"", None)


def test_head_cut_inside_a_character_is_accepted_but_the_full_stream_check_is_not():
    cut = CHINESE[:-2]  # drops the newline and the last of the three bytes of 版

    kind = classify("notes.txt", cut, None)

    assert kind.must_be_utf8
    check = Utf8Check()
    check.feed(cut)
    with pytest.raises(ContentRefused, match="ends inside a character"):
        check.finish()


def test_only_text_kinds_need_the_full_stream_check():
    assert not classify("photo.png", png_bytes(), None).must_be_utf8
    assert classify("readme.md", b"# hi", None).must_be_utf8


def test_utf8_check_reports_the_offset_in_the_whole_stream():
    check = Utf8Check()
    check.feed("ab中".encode()[:3])  # "ab" + first byte of 中
    with pytest.raises(ContentRefused, match=r"byte 2\)"):
        check.feed(b"\x41")  # not a continuation byte: the character starting at 2 is bad


def test_utf8_check_accepts_characters_split_across_chunks():
    check = Utf8Check()
    for byte in CHINESE:
        check.feed(bytes([byte]))
    check.finish()


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=64), cuts=st.lists(st.integers(0, 64), max_size=5))
def test_utf8_check_agrees_with_decoding_the_whole_stream(data, cuts):
    bounds = sorted({0, len(data), *(cut for cut in cuts if cut <= len(data))})
    check = Utf8Check()
    try:
        for start, end in itertools.pairwise(bounds):
            check.feed(data[start:end])
        check.finish()
        accepted = True
    except ContentRefused:
        accepted = False

    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert accepted == valid
