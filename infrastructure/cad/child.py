"""Drawings read in a process of their own: `python -m infrastructure.cad.child MEMORY_BYTES`.

ezdxf's cost is not bounded by the size of a file (a SPLINE's fit points cost memory
quadratic in their number), so the operating system bounds it: the address space is
limited here, before ezdxf is imported; CPU time for each request (`answer`); and the
parent kills the process when a request's wall time is up (`children`).
"""

import os
import resource
import sys
from typing import NoReturn


def main(argv: list[str]) -> NoReturn:
    memory_bytes = int(argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    from infrastructure.cad.answer import answer_all

    answer_all(sys.stdin.buffer, sys.stdout.buffer, memory_bytes)
    # Tearing down the interpreter (ezdxf, numpy) would only keep the parent waiting.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
