"""DXF parsing and SVG previews: faithful on real drawings, contained on hostile ones."""

import io
import math
import re
import time
from functools import cache
from typing import Any
from xml.etree import ElementTree

import msgspec
import pytest
from ezdxf.document import Drawing
from ezdxf.filemanagement import new as new_drawing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infrastructure.cad.model import Bounds, CadDrawing, Layer, Point
from infrastructure.cad.parse import CadInvalid, CadLimits, CadUnsupportedFormat, parse_dxf
from infrastructure.cad.svg import render_svg
from infrastructure.cad.svg_shapes import number

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(text: str) -> ElementTree.Element:
    return ElementTree.fromstring(text)  # noqa: S314 - our own output, not an upload


def to_bytes(doc: Drawing) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def encoded(drawing: CadDrawing) -> dict[str, Any]:
    return msgspec.json.decode(msgspec.json.encode(drawing), type=dict[str, Any])


@cache
def fit_point_spline(points: int = 50_000) -> bytes:
    """One SPLINE through `points` fit points: 1.5 MB that ezdxf needs past 19 GB to read
    (the memory its interpolation takes grows with the square of the points)."""
    doc = new_drawing()
    doc.modelspace().add_spline(fit_points=[(i, (i * 7919) % 1000, 0) for i in range(points)])
    return to_bytes(doc)


def simple_drawing() -> Drawing:
    """Extents by hand: x from -3 (circle) to 10 (line), y from -1 (line) to 8 (circle)."""
    doc = new_drawing()
    msp = doc.modelspace()
    msp.add_line((0, -1), (10, 2))
    msp.add_circle((0, 5), 3)
    return doc


def rich_drawing() -> Drawing:
    doc = new_drawing()
    doc.layers.add("WALLS", color=1)
    doc.layers.add("HIDDEN", color=5).off()
    doc.layers.add("ICE", color=140).freeze()
    block = doc.blocks.new("DOOR")
    block.add_line((0, 0), (1, 0))
    msp = doc.modelspace()
    msp.add_line((0, 0), (10, 0), dxfattribs={"layer": "WALLS"})
    msp.add_circle((5, 5), 2, dxfattribs={"layer": "HIDDEN"})
    msp.add_arc((0, 0), 4, 10, 80, dxfattribs={"layer": "ICE"})
    msp.add_lwpolyline([(0, 0), (4, 0), (4, 3)], close=True)
    msp.add_polyline2d([(1, 1), (2, 1), (2, 2)])
    msp.add_point((7, 8))
    msp.add_ellipse((3, 3), major_axis=(2, 0), ratio=0.5, start_param=0, end_param=math.pi)
    msp.add_open_spline([(0, 0), (1, 2), (3, 2), (4, 0)], degree=3)
    msp.add_spline(fit_points=[(0, 0), (2, 1), (4, 0)])
    msp.add_text("Hall %%c50", height=2.5, dxfattribs={"insert": (1, 2), "rotation": 30})
    msp.add_mtext("First\\PSecond", dxfattribs={"insert": (3, 4), "char_height": 1.5})
    msp.add_blockref("DOOR", (20, 10), dxfattribs={"xscale": 2, "yscale": 3, "rotation": 90})
    msp.add_xline((0, 0), (1, 1))
    return doc


RICH = parse_dxf(to_bytes(rich_drawing()))


def entity(dxftype: str, index: int = 0) -> dict[str, Any]:
    found: list[dict[str, Any]] = [e for e in encoded(RICH)["entities"] if e["type"] == dxftype]
    return found[index]


def test_line_is_encoded_in_the_api_shape():
    assert entity("LINE") == {
        "type": "LINE",
        "startPoint": {"x": 0.0, "y": 0.0},
        "endPoint": {"x": 10.0, "y": 0.0},
        "layer": "WALLS",
    }


def test_curves_keep_their_geometry():
    assert entity("CIRCLE") == {
        "type": "CIRCLE",
        "center": {"x": 5.0, "y": 5.0},
        "radius": 2.0,
        "layer": "HIDDEN",
    }
    assert entity("ARC") == {
        "type": "ARC",
        "center": {"x": 0.0, "y": 0.0},
        "radius": 4.0,
        "startAngle": 10.0,
        "endAngle": 80.0,
        "layer": "ICE",
    }
    ellipse = entity("ELLIPSE")
    assert ellipse["center"] == {"x": 3.0, "y": 3.0}
    assert ellipse["majorAxis"] == {"x": 2.0, "y": 0.0}
    assert (ellipse["ratio"], ellipse["startParam"]) == (0.5, 0.0)
    assert ellipse["endParam"] == pytest.approx(math.pi)


def test_polylines_list_their_points_and_closure():
    assert entity("LWPOLYLINE")["points"] == [
        {"x": 0.0, "y": 0.0},
        {"x": 4.0, "y": 0.0},
        {"x": 4.0, "y": 3.0},
    ]
    assert entity("LWPOLYLINE")["closed"] is True
    assert [(p["x"], p["y"]) for p in entity("POLYLINE")["points"]] == [(1, 1), (2, 1), (2, 2)]
    assert entity("POLYLINE")["closed"] is False


def test_point_and_splines():
    assert entity("POINT")["location"] == {"x": 7.0, "y": 8.0}
    by_control = entity("SPLINE", 0)
    assert [(p["x"], p["y"]) for p in by_control["controlPoints"]] == [
        (0, 0),
        (1, 2),
        (3, 2),
        (4, 0),
    ]
    assert (by_control["degree"], by_control["closed"], by_control["fitPoints"]) == (3, False, [])
    by_fit = entity("SPLINE", 1)
    assert [(p["x"], p["y"]) for p in by_fit["fitPoints"]] == [(0, 0), (2, 1), (4, 0)]


def test_texts_are_plain_with_placement():
    assert entity("TEXT") == {
        "type": "TEXT",
        "text": "Hall Ø50",
        "insert": {"x": 1.0, "y": 2.0},
        "height": 2.5,
        "rotation": 30.0,
        "layer": "0",
    }
    mtext = entity("MTEXT")
    assert (mtext["text"], mtext["insert"], mtext["height"]) == (
        "First\nSecond",
        {"x": 3.0, "y": 4.0},
        1.5,
    )


def test_insert_names_its_block_with_scale_and_rotation():
    assert entity("INSERT") == {
        "type": "INSERT",
        "name": "DOOR",
        "insert": {"x": 20.0, "y": 10.0},
        "xscale": 2.0,
        "yscale": 3.0,
        "rotation": 90.0,
        "layer": "0",
    }


def test_other_entity_types_keep_type_and_layer():
    assert entity("XLINE") == {"type": "XLINE", "layer": "0"}


def test_all_entities_are_returned_in_file_order():
    types = [e["type"] for e in encoded(RICH)["entities"]]

    assert types == [
        *["LINE", "CIRCLE", "ARC", "LWPOLYLINE", "POLYLINE", "POINT", "ELLIPSE"],
        *["SPLINE", "SPLINE", "TEXT", "MTEXT", "INSERT", "XLINE"],
    ]
    assert (RICH.entity_count, RICH.truncated) == (13, False)


def test_drawing_round_trips_through_json_and_has_a_schema():
    # Litestar builds its OpenAPI schema through msgspec.inspect, which refuses unions of
    # untagged structs; CadDrawing must stay describable.
    assert msgspec.json.schema(CadDrawing)["$ref"] == "#/$defs/CadDrawing"

    assert msgspec.json.decode(msgspec.json.encode(RICH), type=CadDrawing) == RICH


def test_fields_an_entity_type_does_not_use_are_left_out():
    assert set(entity("POINT")) == {"type", "layer", "location"}


def test_layers_report_colour_and_visibility():
    layers = {layer.name: layer for layer in RICH.layers}

    assert layers["WALLS"] == Layer(name="WALLS", color=1, visible=True)
    assert layers["HIDDEN"] == Layer(name="HIDDEN", color=5, visible=False)
    assert layers["ICE"] == Layer(name="ICE", color=140, visible=False)
    assert layers["0"].visible


def test_bounds_come_from_geometry_not_from_a_stale_header():
    doc = simple_drawing()
    # ezdxf copies the model space layout's extents into $EXTMIN/$EXTMAX when writing.
    doc.modelspace().dxf.extmin = (-1000, -1000, 0)
    doc.modelspace().dxf.extmax = (5000, 5000, 0)
    data = to_bytes(doc)
    assert b"$EXTMIN\n 10\n-1000.0\n" in data  # the stale values are really in the file

    assert parse_dxf(data).bounds == Bounds(min_x=-3, min_y=-1, max_x=10, max_y=8)
    assert encoded(parse_dxf(data))["bounds"] == {"minX": -3, "minY": -1, "maxX": 10, "maxY": 8}


def test_bounds_follow_block_references_with_their_transform():
    doc = new_drawing()
    doc.blocks.new("BAR").add_line((0, 0), (1, 0))
    # Rotated 90°: the bar points up from (10, 10), scaled 2 → ends at (10, 12).
    doc.modelspace().add_blockref("BAR", (10, 10), dxfattribs={"xscale": 2, "rotation": 90})

    bounds = parse_dxf(to_bytes(doc)).bounds

    assert (bounds.min_x, bounds.min_y) == pytest.approx((10, 10))
    assert (bounds.max_x, bounds.max_y) == pytest.approx((10, 12))


def test_layers_named_by_entities_but_missing_from_the_table_get_defaults():
    doc = new_drawing()
    doc.modelspace().add_line((0, 0), (1, 1), dxfattribs={"layer": "GHOST"})
    doc.modelspace().add_line((0, 0), (1, 1), dxfattribs={"layer": "ghost"})

    layers = parse_dxf(to_bytes(doc)).layers

    assert layers[-1] == Layer(name="GHOST", color=7, visible=True)
    assert [layer.name for layer in layers].count("GHOST") == 1


def test_empty_entities_section_is_a_valid_drawing_with_zero_bounds():
    drawing = parse_dxf(to_bytes(new_drawing()))

    assert (drawing.entities, drawing.entity_count, drawing.truncated) == ([], 0, False)
    assert drawing.bounds == Bounds(min_x=0, min_y=0, max_x=0, max_y=0)


def test_minimal_hand_written_r12_file_is_read():
    data = (
        b"  0\nSECTION\n  2\nENTITIES\n"
        b"  0\nLINE\n  8\nEDGE\n 10\n1\n 20\n2\n 11\n3\n 21\n4\n"
        b"  0\nENDSEC\n  0\nEOF\n"
    )

    drawing = parse_dxf(data)

    assert encoded(drawing)["entities"] == [
        {
            "type": "LINE",
            "layer": "EDGE",
            "startPoint": {"x": 1, "y": 2},
            "endPoint": {"x": 3, "y": 4},
        }
    ]
    assert drawing.bounds == Bounds(min_x=1, min_y=2, max_x=3, max_y=4)


def test_binary_dxf_is_read_too():
    drawing = parse_dxf(binary(simple_drawing()))

    assert [e["type"] for e in encoded(drawing)["entities"]] == ["LINE", "CIRCLE"]
    assert drawing.bounds == Bounds(min_x=-3, min_y=-1, max_x=10, max_y=8)


def binary(doc: Drawing) -> bytes:
    stream = io.BytesIO()
    doc.write(stream, fmt="bin")
    return stream.getvalue()


@pytest.mark.parametrize("encode", [to_bytes, binary], ids=["ascii", "binary"])
def test_insert_of_an_undefined_block_is_dropped_by_the_audit(encode):
    doc = new_drawing()
    doc.modelspace().add_line((0, 0), (1, 1))
    doc.modelspace().add_blockref("NOWHERE", (50, 50))

    drawing = parse_dxf(encode(doc))

    assert [e["type"] for e in encoded(drawing)["entities"]] == ["LINE"]
    assert drawing.bounds == Bounds(min_x=0, min_y=0, max_x=1, max_y=1)


def test_binary_dxf_without_eof_is_invalid():
    data = binary(simple_drawing())
    assert data.endswith(b"\x00\x00EOF\x00")  # R2013 binary: 2-byte group code 0, "EOF"

    with pytest.raises(CadInvalid, match="no EOF"):
        parse_dxf(data[: -len(b"\x00\x00EOF\x00")])


def test_undecodable_text_bytes_are_dropped_so_the_result_still_encodes():
    doc = new_drawing()
    doc.modelspace().add_text("MARK", height=1)
    data = to_bytes(doc).replace(b"MARK", b"caf\xff\xfe")

    drawing = parse_dxf(data)

    assert encoded(drawing)["entities"][0]["text"] == "caf"


def test_non_finite_coordinates_inside_a_block_are_invalid():
    doc = new_drawing()
    doc.blocks.new("FAR").add_line((0, 0), (123456.5, 0))
    doc.modelspace().add_blockref("FAR", (0, 0))
    data = to_bytes(doc).replace(b"123456.5", b"1e999")

    with pytest.raises(CadInvalid, match="not finite"):
        parse_dxf(data)


def test_arc_mirrored_in_autocad_is_reported_as_seen_from_above():
    doc = new_drawing()
    # Extrusion pointing down: OCS x runs along world -x.
    doc.modelspace().add_arc((2, 0), 1, 0, 90, dxfattribs={"extrusion": (0, 0, -1)})

    arc = encoded(parse_dxf(to_bytes(doc)))["entities"][0]

    assert arc["center"] == {"x": -2.0, "y": 0.0}
    assert (arc["startAngle"], arc["endAngle"]) == (90.0, 180.0)


# Refusals


def valid_bytes() -> bytes:
    return to_bytes(simple_drawing())


def without_entities_section(data: bytes) -> bytes:
    start = data.index(b"  0\nSECTION\n  2\nENTITIES\n")
    end = data.index(b"  0\nENDSEC\n", start) + len(b"  0\nENDSEC\n")
    return data[:start] + data[end:]


def with_first_line_start_x(data: bytes, value: bytes) -> bytes:
    start = data.index(b"AcDbLine\n")
    x_at = data.index(b" 10\n", start) + len(b" 10\n")
    return data[:x_at] + value + data[data.index(b"\n", x_at) :]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"  \r\n\t\n", "empty"),
        (b"hello, I am not a drawing\nreally\n", "Invalid group code"),
        (bytes(range(256)) * 8, "not a readable DXF"),
        (b"  0\nSECTION\n  2\nHEADER\n  0\nENDSEC\n  0\nEOF\n", "no ENTITIES section"),
        (valid_bytes()[: len(valid_bytes()) // 2], "no ENTITIES section"),
        (valid_bytes()[:-20], "no EOF"),
        (valid_bytes().replace(b"  0\nEOF\n", b""), "no EOF"),
        (without_entities_section(valid_bytes()), "no ENTITIES section"),
        (with_first_line_start_x(valid_bytes(), b"abc"), "floating point"),
        (with_first_line_start_x(valid_bytes(), b"1e999"), "non-finite"),
    ],
    ids=[
        "empty",
        "whitespace",
        "text",
        "bytes",
        "header-only",
        "cut-in-half",
        "cut-near-end",
        "no-eof",
        "no-entities",
        "non-numeric",
        "infinite",
    ],
)
def test_unreadable_input_is_invalid_with_a_reason(data, says):
    with pytest.raises(CadInvalid) as invalid:
        parse_dxf(data)

    assert says in invalid.value.details


def test_dwg_is_an_unsupported_format_pointing_to_dxf():
    with pytest.raises(CadUnsupportedFormat) as unsupported:
        parse_dxf(b"AC1032" + bytes(200))

    assert "DXF" in unsupported.value.details


def test_file_over_the_byte_limit_is_refused_before_parsing():
    with pytest.raises(CadInvalid, match="larger than 1000 bytes"):
        parse_dxf(valid_bytes(), CadLimits(max_bytes=1000))


def test_damaged_but_readable_number_is_recovered():
    # "12xyz" is how a C stod() reads 12; ezdxf's recover mode does the same.
    drawing = parse_dxf(with_first_line_start_x(valid_bytes(), b"12xyz"))

    assert drawing.entities[0].start_point == Point(x=12.0, y=-1.0)


# Hostile input: whatever the bytes, only a drawing or one of the two errors comes back.

BASE = valid_bytes()
BASE_LINES = BASE.split(b"\n")
NUMBER_LINES = [i for i, line in enumerate(BASE_LINES) if re.fullmatch(rb"-?\d+(\.\d+)?", line)]
GARBAGE = st.sampled_from(
    [b"", b"abc", b"-", b"1e999", b"nan", b"0", b"SECTION", b"\xff\xfe", b"999"]
)


@st.composite
def damaged_dxf(draw: st.DrawFn) -> bytes:
    lines = list(BASE_LINES)
    mutation = draw(st.sampled_from(["cut", "delete", "duplicate", "replace", "number", "bytes"]))
    if mutation == "cut":
        return BASE[: draw(st.integers(0, len(BASE)))]
    if mutation == "bytes":
        return draw(st.binary(max_size=2000))
    for _ in range(draw(st.integers(1, 5))):
        if mutation == "number":
            lines[draw(st.sampled_from(NUMBER_LINES))] = draw(GARBAGE)
            continue
        index = draw(st.integers(0, len(lines) - 1))
        if mutation == "delete":
            del lines[index]
        elif mutation == "duplicate":
            lines.insert(index, lines[index])
        else:
            lines[index] = draw(st.one_of(GARBAGE, st.binary(max_size=12)))
    return b"\n".join(lines)


def accepts_or_refuses_cleanly(produce, data: bytes):
    try:
        return produce(data)
    except (CadInvalid, CadUnsupportedFormat):
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged_dxf())
def test_damaged_dxf_parses_or_is_refused_never_crashes(data):
    drawing = accepts_or_refuses_cleanly(parse_dxf, data)

    if drawing is not None:
        msgspec.json.encode(drawing)  # the API can always send what was returned
        assert all(math.isfinite(v) for v in msgspec.structs.astuple(drawing.bounds))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged_dxf())
def test_damaged_dxf_renders_or_is_refused_never_crashes(data):
    svg = accepts_or_refuses_cleanly(render_svg, data)

    if svg is not None:
        assert parse_svg(svg).tag == f"{SVG}svg"


# Limits


def lines_drawing(count: int) -> bytes:
    doc = new_drawing()
    msp = doc.modelspace()
    for i in range(count):
        msp.add_line((i, 0), (i, 1))
    return to_bytes(doc)


def test_more_entities_than_the_limit_are_truncated():
    drawing = parse_dxf(lines_drawing(30), CadLimits(max_entities=10))

    assert (len(drawing.entities), drawing.entity_count, drawing.truncated) == (10, 30, True)
    assert drawing.bounds == Bounds(min_x=0, min_y=0, max_x=9, max_y=1)


def test_entities_up_to_the_limit_are_not_truncated():
    drawing = parse_dxf(lines_drawing(10), CadLimits(max_entities=10))

    assert (len(drawing.entities), drawing.truncated) == (10, False)


def test_time_limit_truncates():
    drawing = parse_dxf(lines_drawing(5), CadLimits(max_seconds=-1))  # deadline already gone

    assert drawing.truncated
    assert len(drawing.entities) < 5


def chain_of_blocks(levels: int) -> Drawing:
    """Block Ln draws a line at y=n and inserts L(n-1); model space inserts the top one."""
    doc = new_drawing()
    doc.blocks.new("L0").add_line((0, 0), (1, 0))
    for level in range(1, levels + 1):
        block = doc.blocks.new(f"L{level}")
        block.add_line((0, level), (1, level))
        block.add_blockref(f"L{level - 1}", (0, 0))
    doc.modelspace().add_blockref(f"L{levels}", (0, 0))
    return doc


def test_block_nesting_is_followed_to_the_depth_limit_only():
    data = to_bytes(chain_of_blocks(5))

    shallow = parse_dxf(data, CadLimits(max_block_depth=3))
    deep = parse_dxf(data)

    assert (shallow.bounds.min_y, shallow.bounds.max_y, shallow.truncated) == (3, 5, True)
    assert (deep.bounds.min_y, deep.bounds.max_y, deep.truncated) == (0, 5, False)


def test_self_inserting_block_does_not_blow_up():
    doc = new_drawing()
    block = doc.blocks.new("SELF")
    block.add_line((0, 0), (1, 0))
    block.add_blockref("SELF", (1, 0))
    doc.modelspace().add_blockref("SELF", (0, 0))

    drawing = parse_dxf(to_bytes(doc))

    assert drawing.truncated
    assert drawing.bounds.max_x == 8  # eight levels of one-unit steps, then the limit


def test_exponential_block_fan_out_stops_at_the_expansion_limit():
    doc = new_drawing()
    doc.blocks.new("F0").add_line((0, 0), (1, 0))
    for level in range(1, 6):
        block = doc.blocks.new(f"F{level}")
        for k in range(10):  # 10^5 lines in all
            block.add_blockref(f"F{level - 1}", (k, 0))
    doc.modelspace().add_blockref("F5", (0, 0))
    data = to_bytes(doc)

    started = time.monotonic()
    drawing = parse_dxf(data, CadLimits(max_expanded_entities=2000))
    svg = render_svg(data, CadLimits(max_expanded_entities=2000))

    assert time.monotonic() - started < 5
    assert drawing.truncated
    assert parse_svg(svg).get("data-truncated") == "true"


def test_huge_minsert_grid_stops_at_the_expansion_limit():
    doc = new_drawing()
    doc.blocks.new("CELL").add_line((0, 0), (1, 0))
    grid = {"row_count": 10_000, "column_count": 10_000, "row_spacing": 2, "column_spacing": 2}
    doc.modelspace().add_blockref("CELL", (0, 0), dxfattribs=grid)

    drawing = parse_dxf(to_bytes(doc), CadLimits(max_expanded_entities=500))

    assert drawing.truncated
    assert drawing.bounds.max_x < 2 * 10_000


# SVG preview


def svg_tree(doc: Drawing) -> ElementTree.Element:
    return parse_svg(render_svg(to_bytes(doc)))


def test_svg_contains_the_drawn_geometry():
    doc = new_drawing()
    doc.layers.add("RED", color=1)
    msp = doc.modelspace()
    msp.add_line((0, 0), (10, 0), dxfattribs={"layer": "RED"})
    msp.add_circle((20, 0), 5)
    msp.add_text("Label", height=2, dxfattribs={"insert": (0, 5)})

    root = svg_tree(doc)
    paths = root.findall(f".//{SVG}path")

    # y is flipped for SVG; the line keeps its coordinates, the circle is four Béziers.
    assert paths[0].get("d") == "M0 0L10 0"
    assert paths[0].get("stroke") == "#ff0000"
    assert paths[1].get("d", "").count("C") == 4
    assert len(paths) == 2
    assert [t.text for t in root.iter(f"{SVG}tspan")] == ["Label"]
    assert root.get("viewBox") == "-0.5 -7.5 26 13"  # circle and text, 2% margin


def test_svg_draws_colours_texts_and_block_attributes():
    doc = new_drawing()
    block = doc.blocks.new("TAG")
    block.add_attdef("NUMBER", (0, 0), dxfattribs={"height": 1})
    msp = doc.modelspace()
    msp.add_blockref("TAG", (40, 40)).add_auto_attribs({"NUMBER": "A-17"})
    msp.add_line((0, 0), (1, 0), dxfattribs={"true_color": 0x123456})
    msp.add_line((0, 0), (0, 1), dxfattribs={"color": 3})
    msp.add_line((0, 0), (5, 5), dxfattribs={"invisible": 1})
    msp.add_mtext("Top", dxfattribs={"insert": (0, 10), "char_height": 2})

    root = svg_tree(doc)

    assert [p.get("stroke") for p in root.iter(f"{SVG}path")] == ["#123456", "#00ff00"]
    spans = {span.text: span for span in root.iter(f"{SVG}tspan")}
    assert set(spans) == {"A-17", "Top"}
    assert spans["Top"].get("dy") == "2"  # MTEXT hangs below its insert point


def test_svg_leaves_out_hidden_layers_and_draws_block_content():
    root = svg_tree(rich_drawing())
    data = [path.get("d", "") for path in root.iter(f"{SVG}path")]

    assert not any(d.startswith("M7 -5") for d in data)  # circle on the layer that is off
    assert "M20 -10L20 -12" in data  # DOOR block line, rotated 90° and scaled by 2


def test_svg_of_an_empty_drawing_is_an_empty_picture():
    root = svg_tree(new_drawing())

    assert root.findall(f".//{SVG}path") == []
    assert root.get("viewBox") == "0 0 1 1"


def test_svg_refuses_what_parse_refuses():
    with pytest.raises(CadInvalid):
        render_svg(b"hello, I am not a drawing\n")
    with pytest.raises(CadInvalid):
        render_svg(valid_bytes()[:-20])
    with pytest.raises(CadUnsupportedFormat):
        render_svg(b"AC1027" + bytes(100))


BINARY_BASE = binary(rich_drawing())


@st.composite
def damaged_binary_dxf(draw: st.DrawFn) -> bytes:
    data = bytearray(BINARY_BASE[: draw(st.integers(22, len(BINARY_BASE)))])
    for _ in range(draw(st.integers(0, 8))):
        if len(data) > 22:
            data[draw(st.integers(22, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged_binary_dxf())
def test_damaged_binary_dxf_parses_or_is_refused_never_crashes(data):
    drawing = accepts_or_refuses_cleanly(parse_dxf, data)

    if drawing is not None:
        msgspec.json.encode(drawing)


def test_svg_stays_well_formed_xml_whatever_the_text_holds():
    doc = new_drawing()
    doc.modelspace().add_text("a\x01b<c>", height=1)

    root = svg_tree(doc)

    assert [t.text for t in root.iter(f"{SVG}tspan")] == ["ab<c>"]


def test_coordinates_a_hair_from_zero_are_written_as_zero():
    """A curve fit's -1.85e-16 (or its 0, by the BLAS kernel) is one drawing, one SVG."""
    assert [number(v) for v in (-1.850371708e-16, 0.0, -0.0, 4e-10)] == ["0"] * 4
    assert number(2e-9) == "2e-09"
    assert number(-1234567.891) == "-1234567.891"
