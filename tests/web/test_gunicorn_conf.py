"""gunicorn.conf.py: a finished request does not hold the sync worker until the client closes,
and a response whose request body was not read still reaches the client whole."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

APP = '''
def app(environ, start_response):
    body = b"x" * 20000
    if environ["PATH_INFO"] == "/read":
        environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''


@pytest.fixture
def server(tmp_path):
    (tmp_path / "tiny_wsgi.py").write_text(APP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
         "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(tmp_path), "tiny_wsgi:app"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("gunicorn did not start")
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(10)


def _request(port, raw: bytes) -> tuple[socket.socket, bytes]:
    """Send ``raw``, read the response to EOF, and return the still open client socket."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(raw)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return sock, data


def test_worker_is_free_before_the_client_closes(server):
    idle, first = _request(server, b"GET /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    try:  # the first client keeps its socket open: the only worker must not wait for it
        assert first.endswith(b"x" * 20000)
        t0 = time.monotonic()
        other, second = _request(server, b"GET /read HTTP/1.1\r\nHost: x\r\n\r\n")
        other.close()
        assert second.endswith(b"x" * 20000)
        assert time.monotonic() - t0 < 1.0  # gunicorn's graceful close would wait ~2 s
    finally:
        idle.close()


def test_unread_body_keeps_the_graceful_close(server):
    body = b"a=" + b"1" * 200_000
    head = (f"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
            f"urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", server), timeout=10)
    try:
        sock.sendall(head + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"x" * 20000)
