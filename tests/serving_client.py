"""A plain HTTP client for the tests of `zoo serve`: JSON requests and raw sockets."""

import base64
import io
import json
import socket
import threading
import urllib.error
import urllib.request

from PIL import Image

TIMEOUT = 60


def png(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data):
    return {"b64": base64.b64encode(data).decode("ascii")}


def request(url, body=None, raw=None, method=None):
    """Sends JSON (or raw bytes); returns the status and the parsed JSON answer."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    method = method or ("POST" if data is not None else "GET")
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def raw_request(host, port, head, body=b""):
    """Sends `head` (request line and headers) and `body`; returns a socket and its reader."""
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    sock.sendall(head.replace(b"\n", b"\r\n") + b"\r\n" + body)
    return sock, sock.makefile("rb")


def read_response(stream):
    """Status, headers and body (JSON when the answer is JSON) of one response."""
    status = int(stream.readline().split()[1])
    headers = {}
    while line := stream.readline().strip():
        key, value = line.decode("latin-1").split(":", 1)
        headers[key.strip().lower()] = value.strip()
    length = headers.get("content-length")
    body = stream.read(int(length)) if length is not None else stream.read()  # till closed
    if headers.get("content-type", "").startswith("application/json"):
        body = json.loads(body)
    return status, headers, body


def serving(server):
    """Starts `server` in a thread; returns the thread and the base URL parts."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return thread, host, port


def stop(server, thread):
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
