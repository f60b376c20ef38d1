"""``python -m tests.fake_provider --port 8999``: serve the fake provider until interrupted.

Prints the base URL on the first stdout line once listening (``--port 0`` picks a free port).
"""

from __future__ import annotations

import argparse

from tests.fake_provider.server import (
    ENDPOINT_PATHS,
    FakeProviderApp,
    bind_socket,
    uvicorn_server,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_provider", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()
    server = uvicorn_server(FakeProviderApp(), log_level=args.log_level)
    # The URL must be the first line: FakeProviderProcess waits for it.
    print(f"http://{host}:{port}", flush=True)
    for provider, path in ENDPOINT_PATHS.items():
        print(f"  {provider:<9} endpoint: http://{host}:{port}{path}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
