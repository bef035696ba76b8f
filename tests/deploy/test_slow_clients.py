"""Slow clients: nginx in front keeps gunicorn's two sync workers free for everybody else.

A sync worker reads a request's body itself, so a client that trickles its body holds that
worker until the last byte. Four such clients (bytes trickled over ~10 s, as from a phone on a bad
network) against gunicorn alone leave no worker for anyone: a normal page waits seconds. Behind
nginx (deploy/nginx/survey.conf) the bodies are read by nginx, and the same page answers in
milliseconds. The control test against gunicorn alone shows that the proxy is what helps.
"""

from __future__ import annotations

import socket
import threading
import time

from .conftest import request

SLOW_CLIENTS = 4
BODY = b"csrf_token=x&" + b"a" * 37  # 50 bytes, one every 0.2 s: 10 s per body
BYTE_INTERVAL = 0.2


class SlowBodies:
    """``SLOW_CLIENTS`` POSTs whose bodies arrive a byte at a time, each on its own thread."""

    def __init__(self, port: int, path: str):
        self.port, self.path = port, path
        self.answers: list[bytes] = []
        self.stopped = threading.Event()
        self.sockets = [socket.create_connection(("127.0.0.1", port), timeout=30)
                        for _ in range(SLOW_CLIENTS)]
        self.threads = [threading.Thread(target=self._trickle, args=(s,), daemon=True)
                        for s in self.sockets]
        for t in self.threads:
            t.start()

    def _trickle(self, sock: socket.socket) -> None:
        head = (f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n").encode()
        try:
            sock.sendall(head)
            for i in range(len(BODY)):
                if self.stopped.wait(BYTE_INTERVAL):
                    return
                sock.sendall(BODY[i:i + 1])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            self.answers.append(answer)
        except OSError:
            pass

    def finish(self, timeout: float) -> None:
        for t in self.threads:
            t.join(timeout)

    def abandon(self) -> None:
        self.stopped.set()
        for s in self.sockets:
            s.close()
        for t in self.threads:
            t.join(5)


def page_time(port: int, path: str, timeout: float) -> float:
    """Seconds until a normal page answered 200; ``timeout`` when it did not answer in time."""
    t0 = time.monotonic()
    try:
        status, _, _ = request(port, "GET", path, timeout=timeout)
    except TimeoutError:
        return timeout
    assert status == 200
    return time.monotonic() - t0


def test_slow_bodies_do_not_block_the_site_behind_nginx(sqlite_site):
    year, port = sqlite_site["year"], sqlite_site["proxy"].port
    slow = SlowBodies(port, f"/{year}/consent")
    try:
        times = []
        for _ in range(4):  # during the 10 s of trickling
            time.sleep(1.5)
            times.append(page_time(port, f"/{year}/", timeout=5))
        assert max(times) < 1.0, f"page times behind nginx while bodies trickle: {times}"
        slow.finish(timeout=20)
    finally:
        slow.abandon()
    # every slow body reached the app once complete (its answer: the form without a valid
    # CSRF token is refused by the app itself, not by nginx)
    assert len(slow.answers) == SLOW_CLIENTS
    assert all(a.startswith(b"HTTP/1.1 400") for a in slow.answers), [a[:40] for a in slow.answers]


def test_slow_bodies_block_gunicorn_alone(sqlite_site):
    """The control: the same clients straight at gunicorn leave no worker for a normal page."""
    year, port = sqlite_site["year"], sqlite_site["app"].port
    slow = SlowBodies(port, f"/{year}/consent")
    try:
        time.sleep(1.5)
        waited = page_time(port, f"/{year}/", timeout=5)
    finally:
        slow.abandon()
    assert waited >= 5, f"gunicorn alone answered in {waited:.2f} s while bodies trickled"
