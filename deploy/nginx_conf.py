"""Render deploy/nginx/survey.conf: the survey's nginx site, or a whole nginx.conf for one process.

A site for nginx's http block (production, docs/deploy.md)::

    python -m deploy.nginx_conf --upstream 127.0.0.1:8000 --upstream 127.0.0.1:8001 \\
        --server-name survey.example.cn --tls-certificate /etc/ssl/survey.pem \\
        --tls-certificate-key /etc/ssl/private/survey.key > /etc/nginx/conf.d/survey.conf

``--standalone DIR`` writes instead a complete configuration for an nginx started by hand, in
the foreground, as the current user, with its pid file, logs and temporary files in DIR (the
deployment tests and ``benchmarks/web_load.py --proxy nginx`` run nginx this way)::

    python -m deploy.nginx_conf --standalone /tmp/px --listen 127.0.0.1:8080 \\
        --upstream 127.0.0.1:8000 > /tmp/px/nginx.conf
    nginx -p /tmp/px -c /tmp/px/nginx.conf -e /tmp/px/error.log
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).with_name("nginx") / "survey.conf"
ERROR_PAGES = Path(__file__).with_name("nginx") / "errors"
STATIC = PROJECT / "survey" / "static"
# where Debian's nginx package keeps the file-name-to-Content-Type table
MIME_TYPES = Path("/etc/nginx/mime.types")

_FIELD = re.compile(r"\{\{(\w+)\}\}")
# what may go into a field: addresses, names, paths; never a character that would end or add an
# nginx directive
_SAFE_VALUE = re.compile(r"[^;{}\s#'\"\\]+")


@dataclass
class Site:
    upstreams: list[str]
    listen: str = "80"
    http_listen: str = "80"  # with TLS: where plain HTTP is answered with a redirect
    server_name: str = "_"
    static_root: Path = STATIC
    error_pages: Path = ERROR_PAGES
    tls_certificate: str | None = None
    tls_certificate_key: str | None = None
    upstream_options: str = "max_fails=1 fail_timeout=10s"

    @property
    def tls(self) -> bool:
        return self.tls_certificate is not None


class ConfigError(ValueError):
    pass


def _checked(name: str, value: str) -> str:
    if not _SAFE_VALUE.fullmatch(value):
        raise ConfigError(f"{name} {value!r}: spaces, quotes, ';', '{{', '}}', '#' and "
                          "backslashes are not allowed")
    return value


def _names(value: str) -> str:
    """server_name takes several names, separated by spaces."""
    names = value.split()
    if not names:
        raise ConfigError("server name: empty")
    return " ".join(_checked("server name", name) for name in names)


def _fields(site: Site) -> dict[str, str]:
    if not site.upstreams:
        raise ConfigError("at least one --upstream (host:port of a gunicorn instance) is needed")
    if site.tls != (site.tls_certificate_key is not None):
        raise ConfigError("TLS needs both --tls-certificate and --tls-certificate-key")
    servers = "\n".join(
        f"    server {_checked('upstream', u)} {site.upstream_options};" for u in site.upstreams
    )
    listen = _checked("listen", site.listen) + (" ssl" if site.tls else "")
    tls = redirect = ""
    if site.tls:
        tls = (
            f"    ssl_certificate {_checked('tls certificate', site.tls_certificate)};\n"
            f"    ssl_certificate_key {_checked('tls key', site.tls_certificate_key)};\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
            "    ssl_session_cache shared:survey_tls:10m;\n"
            "    ssl_session_timeout 1d;\n"
        )
        # plain HTTP only says where the survey is (its own name: a forged Host is not echoed)
        host = "$host" if site.server_name == "_" else site.server_name.split()[0]
        redirect = (
            f"\nserver {{\n    listen {_checked('http listen', site.http_listen)};\n"
            f"    server_name {_names(site.server_name)};\n"
            f"    return 301 https://{host}$request_uri;\n}}\n"
        )
    return {
        "upstream_servers": servers,
        "listen": listen,
        "server_name": _names(site.server_name),
        "tls": tls,
        "http_redirect": redirect,
        "static_root": _checked("static folder", str(Path(site.static_root).resolve())),
        "error_pages": _checked("error pages folder", str(Path(site.error_pages).resolve())),
    }


def render_site(site: Site, template: Path = TEMPLATE) -> str:
    """The site configuration (upstream + server blocks) for nginx's http block."""
    values = _fields(site)
    text = template.read_text(encoding="utf-8")
    missing = sorted({m for m in _FIELD.findall(text) if m not in values})
    if missing:
        raise ConfigError(f"{template}: no value for {', '.join(missing)}")
    return _FIELD.sub(lambda m: values[m.group(1)], text)


def render_standalone(site: Site, run_dir: Path, access_log: bool = True,
                      worker_processes: int = 1) -> str:
    """A whole nginx.conf for ``nginx -p RUN_DIR -c RUN_DIR/nginx.conf``: in the foreground,
    as the current user, with every file it writes under RUN_DIR."""
    run = Path(run_dir).resolve()
    _checked("run folder", str(run))
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / "temp" / sub).mkdir(parents=True, exist_ok=True)
    # nginx started as root would hand its worker processes to "nobody", who cannot read a
    # checkout or write RUN_DIR: keep them as the user who starts it
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.exists() else ""
    log = f"{run}/access.log" if access_log else "off"
    head = (
        f"{user}daemon off;\nworker_processes {worker_processes};\npid {run}/nginx.pid;\n"
        f"error_log {run}/error.log warn;\n"
        "events {\n    worker_connections 4096;\n}\n"
        "http {\n"
        f"{mime}    default_type application/octet-stream;\n"
        f"    access_log {log};\n"
        f"    client_body_temp_path {run}/temp/client_body;\n"
        f"    proxy_temp_path {run}/temp/proxy;\n"
        f"    fastcgi_temp_path {run}/temp/fastcgi;\n"
        f"    uwsgi_temp_path {run}/temp/uwsgi;\n"
        f"    scgi_temp_path {run}/temp/scgi;\n"
        "    sendfile on;\n"
    )
    site_text = "\n".join(
        ("    " + line) if line.strip() else "" for line in render_site(site).splitlines()
    )
    return f"{head}\n{site_text}\n}}\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", action="append", default=[], metavar="HOST:PORT",
                   help="a gunicorn instance (repeat for each)")
    p.add_argument("--listen", default=None,
                   help="nginx's address or port (default 80, or 443 with TLS)")
    p.add_argument("--server-name", default="_", help="the survey's host name (default: any)")
    p.add_argument("--static-root", type=Path, default=STATIC,
                   help=f"the app's static folder (default {STATIC})")
    p.add_argument("--tls-certificate", help="certificate (chain) file: nginx ends TLS")
    p.add_argument("--tls-certificate-key", help="the certificate's private key file")
    p.add_argument("--standalone", type=Path, metavar="DIR",
                   help="write a whole nginx.conf for one foreground nginx with its files in DIR")
    args = p.parse_args(argv)
    site = Site(
        upstreams=args.upstream,
        listen=args.listen or ("443" if args.tls_certificate else "80"),
        server_name=args.server_name,
        static_root=args.static_root,
        tls_certificate=args.tls_certificate,
        tls_certificate_key=args.tls_certificate_key,
    )
    try:
        text = render_standalone(site, args.standalone) if args.standalone else render_site(site)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
