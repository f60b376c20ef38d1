"""PreviewDrawing: an uploaded DXF drawn as SVG."""

from dataclasses import dataclass

from application.files import Files, visible_file, whole_content
from application.parse_drawing import require_dxf
from application.ports import AccessClaims


@dataclass(frozen=True, slots=True)
class PreviewDrawing:
    file_id: str
    caller: AccessClaims


def preview_drawing(files: Files, command: PreviewDrawing) -> str:
    file = visible_file(files.store, command.file_id, command.caller)
    require_dxf(file)
    return files.drawings.render_svg(whole_content(files, file))
