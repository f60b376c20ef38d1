"""Drawings: latency of a small parse and preview, and what a SPLINE of many fit points costs.

Run: .venv/bin/python -m bench.drawings [--requests 20] [--spline-points 8000,50000]
The small drawing is the tests' two-entity one, sent as multipart `POST /api/cad/parse`
(`paused`: a second between requests, as one user sends them; `back to back`: none) and
drawn by `GET /api/cad/{id}/preview.svg`. The API process's RSS is sampled every 20 ms.
"""

import argparse
import time

import httpx
import psutil

from bench.harness import median, percentile, stack
from bench.report import record
from tests.support.memory import MiB, PeakMemory
from tests.unit.test_cad import fit_point_spline, simple_drawing, to_bytes


class Send:
    def __init__(self, http: httpx.Client, method: str, url: str, **options: object) -> None:
        self.http, self.method, self.url, self.options = http, method, url, options

    def __call__(self) -> httpx.Response:
        return self.http.request(self.method, self.url, **self.options)  # type: ignore[arg-type]


def latencies(send: Send, count: int, pause: float) -> list[float]:
    seconds = []
    for _ in range(count):
        time.sleep(pause)
        started = time.perf_counter()
        response = send()
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return seconds


def row(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"| {name} | {len(ms)} | {median(ms):.0f} | {percentile(ms, 90):.0f} | {max(ms):.0f} |"


def main(requests: int, spline_points: list[int], title: str) -> None:
    with stack(worker=True) as running:
        auth = running.auth
        assert running.server.process is not None
        server = psutil.Process(running.server.process.pid)
        with httpx.Client(base_url=running.server.base_url, timeout=300) as http:
            small = to_bytes(simple_drawing())
            sent = Send(
                http, "POST", "/api/cad/parse", files={"file": ("a.dxf", small)}, headers=auth
            )
            sent()  # the first drawing starts the first child
            rss_idle = server.memory_info().rss
            paused = latencies(sent, requests, pause=1.0)
            back_to_back = latencies(sent, requests, pause=0)
            upload = http.post("/api/upload", files={"file": ("a.dxf", small)}, headers=auth)
            file_id = upload.json()["data"]["id"]
            preview = Send(http, "GET", f"/api/cad/{file_id}/preview.svg", headers=auth)
            previews = latencies(preview, requests, pause=1.0)
            splines = []
            for points in spline_points:
                data = fit_point_spline(points)
                with PeakMemory(server.pid) as memory:
                    started = time.perf_counter()
                    answer = http.post(
                        "/api/cad/parse", files={"file": ("s.dxf", data)}, headers=auth
                    )
                    took = time.perf_counter() - started
                said = answer.json().get("message", "")
                splines.append(
                    f"| {points:,} | {len(data) / 1e6:.1f} | {answer.status_code} {said[:60]} "
                    f"| {took:.1f} | {memory.growth / MiB:.0f} |"
                )
            rss_after = server.memory_info().rss
    table = "\n".join(
        [
            "| small drawing (2 entities) | requests | p50 ms | p90 ms | max ms |",
            "|---|---|---|---|---|",
            row("parse, paused", paused),
            row("parse, back to back", back_to_back),
            row("preview, paused", previews),
            "",
            "| SPLINE fit points | file MB | answer | seconds | API RSS growth MiB |",
            "|---|---|---|---|---|",
            *splines,
            "",
            f"API process RSS: {rss_idle / MiB:.0f} MiB after the first drawing, "
            f"{rss_after / MiB:.0f} MiB after all of the above.",
        ]
    )
    print(table)
    listed = ",".join(str(n) for n in spline_points)
    command = f"python -m bench.drawings --requests {requests} --spline-points {listed}"
    record(title, command, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--spline-points", default="8000,50000")
    parser.add_argument("--title", default="Drawings")
    args = parser.parse_args()
    main(args.requests, [int(n) for n in args.spline_points.split(",") if n], args.title)
