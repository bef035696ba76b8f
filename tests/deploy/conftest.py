"""The production set-up as processes: gunicorn instances, nginx in front, on loopback only.

nginx is Debian's (``scripts/install-system-packages.sh``), started in the foreground with a
configuration rendered from ``deploy/nginx/survey.conf`` into the test's folder (pid file, logs
and temporary files there too) on a free port of 127.0.0.1. gunicorn is the production entry
point, started from the project folder so that it reads ``gunicorn.conf.py``. The database is
prepared with the real commands (``init-db``, ``load-questionnaire``, ``open-wave``).
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.nginx_conf import Site, render_standalone

PROJECT = Path(__file__).resolve().parents[2]
NGINX_MISSING = ("nginx is not installed (Debian package nginx; "
                 "scripts/install-system-packages.sh installs it)")


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.skip(NGINX_MISSING)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wave_file() -> Path:
    """This year's wave definition, else the newest (the one `make run` opens)."""
    waves = PROJECT / "questionnaires" / "waves"
    this_year = waves / f"{dt.date.today().year}.yaml"
    if this_year.exists():
        return this_year
    return sorted(p for p in waves.glob("*.yaml") if p.stem.isdigit())[-1]


def prepare_database(url: str) -> int:
    """Migrate, load and open the wave through the real commands, once; returns the year."""
    from survey import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "prepare"})
    path = wave_file()
    closes = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    runner = app.test_cli_runner()
    for args in (["init-db"], ["load-questionnaire", str(path)],
                 ["open-wave", path.stem, "--closes", closes]):
        with app.app_context():
            result = runner.invoke(args=args)
        assert result.exit_code == 0, f"flask {' '.join(args)}: {result.output}"
    from survey.db import db

    with app.app_context():
        db.engine.dispose()
    return int(path.stem)


def app_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The app servers' environment; every server started with it shares one SECRET_KEY."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(32),
           "NEW_RESPONSE_RATE_LIMIT": "100000 per hour", **extra}
    env.pop("FLASK_DEBUG", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    return env


def wait_for_http(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Until GET / on the port answers (any status), or fail with the process's log."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[0]} exited ({proc.returncode}):\n{read_tail(log)}")
        try:
            request(port, "GET", "/", timeout=10)
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing answered on port {port} within {timeout} s:\n{read_tail(log)}")


def read_tail(path: Path, size: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Gunicorn:
    """``gunicorn -w N 'survey:create_app()'`` on a free loopback port, its access log kept."""

    def __init__(self, env: dict[str, str], workdir: Path, workers: int = 2, name: str = "app"):
        self.port = free_port()
        self.access_log = workdir / f"{name}-access.log"
        self.log = workdir / f"{name}.log"
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers),
               "-b", f"127.0.0.1:{self.port}", "--access-logfile", str(self.access_log),
               "survey:create_app()"]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)
        wait_for_http(self.port, self.proc, self.log)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def requests_served(self, settle: float = 0.5) -> int:
        """Lines in the access log once it has stopped growing for ``settle`` seconds: a worker
        writes the line of an earlier request a little after answering it."""
        import time

        count = len(read_tail(self.access_log, 10**8).splitlines())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(settle)
            now = len(read_tail(self.access_log, 10**8).splitlines())
            if now == count:
                break
            count = now
        return count

    def stop(self) -> None:
        stop(self.proc)


class Nginx:
    """Debian's nginx with the project's configuration, in the foreground, files in workdir."""

    def __init__(self, upstreams: list[str], workdir: Path, **site: object):
        self.port = free_port()
        self.dir = workdir / f"nginx-{self.port}"
        self.dir.mkdir()
        conf = self.dir / "nginx.conf"
        conf.write_text(render_standalone(
            Site(upstreams=upstreams, listen=f"127.0.0.1:{self.port}", **site), self.dir))
        self.error_log = self.dir / "error.log"
        cmd = [nginx_binary(), "-p", str(self.dir), "-c", str(conf), "-e", str(self.error_log)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_http(self.port, self.proc, self.error_log)

    def stop(self) -> None:
        stop(self.proc)


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 10,
            source: str | None = None) -> tuple[int, http.client.HTTPMessage, str]:
    """One HTTP request to 127.0.0.1:port (from ``source``, another loopback address, if given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        return resp.status, resp.msg, text  # msg: headers, case-insensitive, get_all()
    finally:
        conn.close()


@pytest.fixture(scope="package")
def sqlite_site(tmp_path_factory):
    """gunicorn (2 sync workers, SQLite) and nginx in front of it."""
    workdir = tmp_path_factory.mktemp("sqlite_site")
    url = f"sqlite:///{workdir / 'survey.sqlite'}"
    year = prepare_database(url)
    app = Gunicorn(app_environment(url, TRUSTED_PROXIES="1"), workdir, workers=2)
    try:
        proxy = Nginx([app.address], workdir)
    except BaseException:
        app.stop()
        raise
    yield {"app": app, "proxy": proxy, "year": year}
    proxy.stop()
    app.stop()


# --------------------------------------------------------------------------- respondents


def load_web_load():
    """benchmarks/web_load.py as a module: its page scraper walks the real pages."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "web_load", PROJECT / "benchmarks" / "web_load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("web_load", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class Browser:
    """One person's browser, from one loopback address: cookies by name, redirects by hand."""

    def __init__(self, port: int, source: str = "127.0.0.1"):
        self.port, self.source = port, source
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, str]:
        from urllib.parse import urlencode

        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, msg, text = request(self.port, method, path, body=body, headers=headers,
                                    source=self.source)
        for cookie in msg.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            expired = "max-age=0" in cookie.lower() or "expires=thu, 01 jan 1970" in cookie.lower()
            if expired or value in ("", '""'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return status, msg, text

    def get(self, path: str) -> tuple[str, str]:
        """GET, following redirects: the final path and page."""
        for _ in range(10):
            status, msg, text = self.send("GET", path)
            if status in (301, 302, 303):
                path = msg["Location"]
                continue
            assert status == 200, f"GET {path}: {status}"
            return path, text
        raise AssertionError(f"redirect loop at {path}")

    def complete_response(self, web_load, seed: int) -> None:
        """Landing page to thank-you page, answering every page with valid random answers."""
        import random
        from urllib.parse import urljoin

        rng = random.Random(seed)
        path, page = self.get("/")
        link = web_load.find_start_link(page)
        assert link, "no start link on the landing page"
        path, page = self.get(urljoin(path, link))
        for _ in range(100):
            form = web_load.parse_post_form(page)
            if form is None:
                return  # the thank-you page
            target = urljoin(path, form.action) if form.action else path
            status, msg, text = self.send("POST", target, web_load.fill(form, rng))
            assert status == 303, f"POST {target}: {status} {text[:300]}"
            path, page = self.get(msg["Location"])
        raise AssertionError("the questionnaire did not end")
