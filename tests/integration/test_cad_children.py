"""Drawings read in child processes bounded by the operating system (issue 13, item 2):
memory, wall time and CPU time, the result's size; the parent stays small and unchanged."""

import signal
import subprocess
import sys
import time

import msgspec
import psutil
import pytest

from application.errors import ValidationFailed
from application.files import DrawingTooComplex, UnsupportedFormat
from infrastructure.cad.children import ChildLimits
from infrastructure.cad.exchange import READY, ChildRequest, frame
from infrastructure.cad.parse import parse_dxf
from infrastructure.cad.reader import DxfReader
from infrastructure.cad.svg import render_svg
from tests.support.memory import MiB, PeakMemory
from tests.unit.test_cad import (
    fit_point_spline,
    lines_drawing,
    rich_drawing,
    simple_drawing,
    to_bytes,
)
from tests.unit.test_file_content import dwg_bytes


@pytest.fixture
def reader():
    reader = DxfReader()
    yield reader
    reader.close()


def test_a_drawing_over_the_memory_limit_is_too_complex_and_this_process_does_not_grow():
    reader = DxfReader(ChildLimits(memory_bytes=300 * MiB))  # fails sooner than the default
    data = fit_point_spline(50_000)
    try:
        with PeakMemory(psutil.Process().pid) as memory:
            with pytest.raises(DrawingTooComplex) as parsing:
                reader.parse(data)
            with pytest.raises(DrawingTooComplex) as drawing:
                reader.render_svg(data)
    finally:
        reader.close()

    expected = "drawing too complex: reading it needs more than 300 MiB of memory"
    assert parsing.value.message == drawing.value.message == expected
    assert memory.growth < 50 * MiB, f"grew by {memory.growth // MiB} MiB"


def test_a_drawing_that_takes_longer_than_the_wall_time_is_killed():
    reader = DxfReader(ChildLimits(seconds=0.5))
    data = lines_drawing(20_000)  # loading alone takes seconds, and loading cannot stop part way
    try:
        reader.parse(b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n")  # a warm child next
        started = time.monotonic()
        with pytest.raises(DrawingTooComplex, match=r"takes more than 0\.5 s"):
            reader.parse(data)
        took = time.monotonic() - started
    finally:
        reader.close()
    assert took < 3, f"answered after {took:.1f} s"


def test_a_child_left_alone_stops_itself_at_its_cpu_limit():
    """If the parent died, the CPU limit still ends the child (SIGXCPU)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "infrastructure.cad.child", str(512 * MiB)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdin and child.stdout
    assert child.stdout.read(len(READY)) == READY
    # Well past the limit on a fast machine too: 20,000 lines took under a second here once.
    data = lines_drawing(80_000)
    child.stdin.write(frame(ChildRequest("parse", 1, max_result_bytes=MiB, data_bytes=len(data))))
    child.stdin.write(data)
    child.stdin.flush()
    started = time.monotonic()
    status = child.wait(timeout=30)
    assert status == -signal.SIGXCPU
    assert time.monotonic() - started < 10


def test_a_result_larger_than_allowed_is_not_passed_on():
    reader = DxfReader(ChildLimits(max_result_bytes=1000))
    try:
        with pytest.raises(DrawingTooComplex, match="its result is more than 1000 bytes"):
            reader.parse(lines_drawing(100))
    finally:
        reader.close()


def test_a_normal_drawing_reads_as_in_this_process(reader):
    data = to_bytes(rich_drawing())

    parsed = reader.parse(data)

    expected = parse_dxf(data)
    assert parsed.json == msgspec.json.encode(expected)
    assert (parsed.entity_count, parsed.layer_count, parsed.truncated) == (
        expected.entity_count,
        len(expected.layers),
        expected.truncated,
    )
    assert reader.render_svg(data) == render_svg(data)


def test_unreadable_and_unsupported_drawings_keep_their_errors(reader):
    with pytest.raises(UnsupportedFormat):
        reader.parse(dwg_bytes())
    with pytest.raises(ValidationFailed, match="Invalid DXF drawing") as invalid:
        reader.parse(b"ju\x00nk\n")
    assert not isinstance(invalid.value, DrawingTooComplex)
    assert "not a readable DXF" in invalid.value.details


def test_an_error_that_echoes_the_drawing_is_plain_text(reader):
    """The reader's messages can quote the file; what reaches an event has no NUL."""
    with pytest.raises(ValidationFailed) as invalid:
        reader.parse(b"ju\x00nk\n" + b"x" * 1000)
    assert "\x00" not in invalid.value.details
    assert len(invalid.value.details) <= 300


def test_closing_the_reader_ends_its_children():
    reader = DxfReader()
    reader.parse(to_bytes(simple_drawing()))
    spares = [child for child in psutil.Process().children() if is_reader(child)]
    reader.close()
    assert spares, "a spare child is kept ready after a read"
    _gone, alive = psutil.wait_procs(spares, timeout=5)
    assert not alive


def is_reader(process: psutil.Process) -> bool:
    try:
        return "infrastructure.cad.child" in process.cmdline()
    except psutil.NoSuchProcess:
        return False


def reader_pids() -> set[int]:
    return {child.pid for child in psutil.Process().children() if is_reader(child)}


def test_a_child_is_kept_for_the_next_drawing_until_one_is_refused():
    reader = DxfReader(ChildLimits(memory_bytes=300 * MiB))
    try:
        reader.parse(to_bytes(simple_drawing()))
        first = reader_pids()
        reader.render_svg(to_bytes(simple_drawing()))
        kept = reader_pids()
        with pytest.raises(DrawingTooComplex):
            reader.parse(fit_point_spline(50_000))
        replaced = reader_pids()
        reader.parse(to_bytes(simple_drawing()))
    finally:
        reader.close()
    assert len(first) == 1
    assert kept == first
    assert len(replaced) == 1 and replaced != first
