"""The server's listening socket, taken before anything else starts."""

import errno
import socket

BACKLOG = 2048  # uvicorn's default


class CannotListen(Exception):
    """The address cannot be listened on; the message is one line for the operator."""


def listen(host: str, port: int) -> socket.socket:
    """Bound and listening, so a taken port is known before workers start or the log says
    "serving on"; connections that come meanwhile wait in the backlog."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Lets a restart bind while the last run's connections sit in TIME_WAIT; on Linux it
        # does not let two listeners share a port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise CannotListen(f"cannot serve on {host}:{port}: {reason(error)}") from error
    return sock


def reason(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "the port is already in use"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    if error.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address"
    return error.strerror or str(error)
