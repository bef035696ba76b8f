"""gunicorn settings for the survey (read automatically from the working directory).

    gunicorn -w 2 'survey:create_app()'

Why ``post_request`` below: since gunicorn 26 a sync worker ends every connection with
``util.close_graceful`` (RFC 9112 section 9.6): it half-closes, then *waits* until the client
closes its side (up to 2 s) before it serves anybody else.  The RFC's concern is a server that
closes while unread client data is still arriving: the kernel answers that data with a reset,
which can wipe the response the client has not read yet.  Our responses are sent with
``Connection: close`` and a sync worker handles one request per connection, so once the
request's body has been read to its end and nothing more is waiting in the socket, no client
data can follow and the wait protects nothing — but it holds one of the two workers for a
client round trip on every request (an event-loop turn on loopback, a full network round trip
from a phone without a proxy in front; ~20% fewer pages per second in benchmarks/web_load.py).

So after a complete response whose request body was consumed entirely, with no unread input,
the hook shuts the connection down at once; gunicorn's own close then finds it finished.  In
every other case (a body the app did not read, e.g. a refused upload; input still waiting;
chunked bodies; an error before the response started) gunicorn's graceful close runs as usual.
gunicorn 26's request-parsing hardening is kept, which pinning gunicorn < 26 would give up.
"""

import socket


def post_request(worker, req, environ, resp):
    if type(worker).__name__ != "SyncWorker":
        return  # a gthread worker may keep the connection for the client's next request
    sock = environ.get("gunicorn.socket")
    if sock is None or resp is None or not resp.headers_sent:
        return  # no response yet: gunicorn may still write an error page
    reader = getattr(getattr(req, "body", None), "reader", None)
    if getattr(reader, "length", None) != 0:
        return  # not a fixed-length body read to its end: keep the graceful close
    try:
        if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
            return  # unread input waiting: let gunicorn drain it
    except BlockingIOError:
        pass  # nothing waiting
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
