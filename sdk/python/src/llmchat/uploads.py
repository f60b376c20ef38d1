"""What the upload and CAD helpers accept as a file: a path, bytes, or a binary file object."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from llmchat.api_call import FilePart

FileInput = str | os.PathLike[str] | bytes | IO[bytes]
"""A path (str or PathLike), the bytes themselves, or a binary file object."""


@contextmanager
def file_part(file: FileInput, filename: str | None = None) -> Iterator[FilePart]:
    """The file as a multipart part; a path is opened here and closed afterwards.

    The server checks the extension of the file's name, so bytes need `filename`, and so
    does a file object without a `name`.
    """
    if isinstance(file, bytes):
        yield FilePart(required_name(filename, None), file)
    elif isinstance(file, str | os.PathLike):
        path = Path(file)
        with path.open("rb") as stream:
            yield FilePart(filename or path.name, stream)
    elif file.seekable():
        yield FilePart(required_name(filename, file), file, file.tell())
    else:
        yield FilePart(required_name(filename, file), file.read())


def required_name(filename: str | None, file: IO[bytes] | None) -> str:
    own_name = getattr(file, "name", None)
    name = filename or (Path(own_name).name if isinstance(own_name, str) else "")
    if not name:
        raise ValueError("pass filename= (with its extension, e.g. 'plan.dxf') for this file")
    return name
