"""`zoo serve` under hostile requests: server memory, connection storms, slow clients.

Trains a tiny run and exports it with `zoo`, and for each hostile request starts a fresh
`zoo serve` process, sends the request and reads the server's resident memory
(`VmRSS`) before and its peak (`VmHWM`) after, with the answer's status. Then,
on one server: 30 clients each making 20 requests on new connections (errors
and p50/p99 latency), and how long the server holds a connection that sends
nothing, and one that announces a body and sends none. Prints markdown tables.

`--code DIR` exports and serves with another checkout of the project (e.g. an
older commit in a `git worktree`), to compare before and after a change.

    python benchmarks/serve_hostile.py [--code DIR] [--hold-limit 60]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 10, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_bomb(size: int) -> bytes:
    """A real grayscale PNG of `size` x `size` black pixels: 389 KB for 20000."""
    header = b"IHDR" + struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (size + 1)  # filter byte, then the row
    data = b"".join(compressor.compress(row) for _ in range(size)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(header[:4], header[4:])
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


def _gif_bomb(size: int, frames: int = 2) -> bytes:
    """A real GIF of `frames` frames of `size` x `size`, its logical screen set to 1x1."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    images = [Image.new("P", (size, size), index) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:])
    data = buffer.getvalue()
    return data[:6] + struct.pack("<HH", 1, 1) + data[10:]


def _b64(data: bytes) -> dict[str, str]:
    return {"b64": base64.b64encode(data).decode("ascii")}


def _hostile_bodies(size: int) -> dict[str, bytes]:
    tiny = _b64(_png(1, 1))
    floats = [[[[0.5] * 3] * size] * size]
    return {
        "PNG of 20000x20000 (389 KB)": json.dumps({"instances": [_b64(_png_bomb(20000))]}).encode(),
        "GIF, 1x1 screen, two 20000x20000 frames (592 KB)": json.dumps(
            {"instances": [_b64(_gif_bomb(20000))]}
        ).encode(),
        "100,000 1x1 PNGs (10 MB)": json.dumps({"instances": [tiny] * 100_000}).encode(),
        "62 MB of float32 instances": json.dumps(
            {"signature_name": "serving_images", "instances": floats * 4200}
        ).encode(),
        "NaN pixel": json.dumps(
            {
                "signature_name": "serving_images",
                "instances": [[[[float("nan")] * 3] * size] * size],
            }
        ).encode(),
        "JSON nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    }


class Server:
    """A `zoo serve` process on a free port."""

    def __init__(self, model_dir: Path, code: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [sys.executable, "-c", "from cli.main import cli; cli()", "serve"]
        self.process = subprocess.Popen(
            [*command, str(model_dir), "--port", str(self.port), "--quiet"],
            cwd=code,
            env={**os.environ, "PYTHONPATH": str(code)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}/v1/models/{model_dir.name}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base, timeout=5).read()
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("the server did not start")

    def memory(self, field: str) -> float:
        """A `/proc/PID/status` field (`VmRSS`, `VmHWM`) in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def _post(url: str, body: bytes, timeout: float = 300) -> tuple[int | str, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            status: int | str = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    except urllib.error.URLError as error:  # the server answered and closed mid-upload
        status = f"closed ({type(error.reason).__name__})"
    except OSError as error:
        status = type(error).__name__
    return status, time.perf_counter() - started


def _storm(base: str, clients: int = 30, requests: int = 20) -> tuple[int, float, float]:
    latencies: list[float] = []
    errors = []

    def client() -> None:
        for _ in range(requests):
            started = time.perf_counter()
            try:
                urllib.request.urlopen(base, timeout=30).read()  # a new connection each time
                latencies.append(time.perf_counter() - started)
            except OSError as error:
                errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    return len(errors), statistics.median(latencies) * 1000, p99 * 1000


def _status_during(base: str, body: bytes) -> tuple[str, float, float]:
    """The answer to a large prediction, and status latencies (median, max ms) meanwhile."""
    answer: list[int | str] = []
    worker = threading.Thread(target=lambda: answer.append(_post(base + ":predict", body)[0]))
    worker.start()
    latencies = []
    while worker.is_alive():
        started = time.perf_counter()
        urllib.request.urlopen(base, timeout=60).read()
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    worker.join()
    return str(answer[0]), statistics.median(latencies), max(latencies)


def _held(port: int, head: bytes, limit: float) -> str:
    """Seconds until the server closes a connection that sends `head` and then nothing."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        sock.sendall(head)
        try:
            while sock.recv(65536):
                pass
        except TimeoutError:
            return f"> {limit:g} s (still open)"
    return f"{time.monotonic() - started:.1f} s"


def _bodies_in_flight(server: Server, clients: int, size: int) -> str:
    """RSS before, at the peak and after `clients` connections each send `size` - 1 body bytes."""
    before = server.memory("VmRSS")
    head = b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size
    sockets, refused = [], 0
    chunk = b" " * (1 << 20)
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        try:
            sock.sendall(head)
            for start in range(0, size - 1, len(chunk)):
                sock.sendall(chunk[: min(len(chunk), size - 1 - start)])
        except OSError:
            refused += 1  # answered 503 and closed while sending
        sockets.append(sock)
    time.sleep(1)
    peak = server.memory("VmRSS")
    for sock in sockets:
        sock.close()
    time.sleep(2)
    after = server.memory("VmRSS")
    sizes = f"{before:.0f} | {peak:.0f} | {after:.0f}"
    return f"| {clients} x {size / 2**20:.0f} MB | {refused} | {sizes} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="Checkout the server runs from.")
    parser.add_argument("--hold-limit", type=float, default=60, help="Longest wait for a close.")
    parser.add_argument("--skip", nargs="*", default=[], help="Hostile requests to leave out.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        run = Path(scratch) / "run"
        model_dir = Path(scratch) / "saved_models" / "tiny"
        tiny = "--arch resnet18 --classes 3 --image-size 32 --epochs 1 --shapes-per-class 12"
        for command in (  # trained and exported by the same code as the server
            ["train", *tiny.split(), "--output", str(run)],
            ["export", str(run), "--output", str(model_dir.parent), "--name", "tiny"],
        ):
            subprocess.run(
                [sys.executable, "-c", "from cli.main import cli; cli()", *command],
                cwd=args.code,
                env={**os.environ, "PYTHONPATH": str(args.code)},
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        print(f"server code: {args.code}\n")
        print("| request | status | seconds | RSS before (MiB) | peak RSS (MiB) |")
        print("|---|---|---|---|---|")
        for name, body in _hostile_bodies(32).items():
            if any(word in name for word in args.skip):
                continue
            server = Server(model_dir, args.code)
            try:
                before = server.memory("VmRSS")
                status, seconds = _post(server.base + ":predict", body)
                peak = server.memory("VmHWM")
                print(f"| {name} | {status} | {seconds:.2f} | {before:.0f} | {peak:.0f} |")
            finally:
                server.stop()

        server = Server(model_dir, args.code)
        try:
            errors, p50, p99 = _storm(server.base)
            print("\n| 30 clients x 20 requests, new connections | errors | p50 ms | p99 ms |")
            print("|---|---|---|---|")
            print(f"| GET status | {errors} | {p50:.1f} | {p99:.1f} |")
            floats = [[[[0.5] * 3] * 32] * 32]
            big_body = json.dumps(
                {"signature_name": "serving_images", "instances": floats * 1000}
            ).encode()
            status, median, worst = _status_during(server.base, big_body)
            print(
                f"\nstatus requests while a {len(big_body) / 2**20:.0f} MB prediction runs "
                f"(answered {status}): median {median:.1f} ms, worst {worst:.1f} ms"
            )
            print(
                "\n| bodies held at once | cut off | RSS before | RSS with them | RSS after (MiB) |"
            )
            print("|---|---|---|---|---|")
            print(_bodies_in_flight(server, 100, 30 * 2**20 - 1))
            announce = b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n"
            print("\n| connection | held for |")
            print("|---|---|")
            print(f"| sends nothing | {_held(server.port, b'', args.hold_limit)} |")
            big = announce + b"Content-Length: 60000000\r\n\r\n"
            held = _held(server.port, big, args.hold_limit)
            print(f"| announces a 60 MB body, sends none | {held} |")
            small = announce + b"Content-Length: 100000\r\n\r\n"
            print(
                f"| announces 100 KB, sends none | {_held(server.port, small, args.hold_limit)} |"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
