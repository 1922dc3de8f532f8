"""retain behind a real TLS reverse proxy (nginx from Debian) — issue #11, item 7: with
RETAIN_HTTPS=1 the pages load instead of redirecting forever, the audit trail records the
client's address, and forwarded headers from anyone but RETAIN_TRUSTED_PROXIES are
ignored. nginx connects from 127.0.0.2 (the trusted proxy); the test client is 127.0.0.1."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists() or not shutil.which("openssl"), reason="needs nginx and openssl"
)
RETAIN = str(Path(sys.executable).with_name("retain"))

NGINX_CONF = """
{user}
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_bind 127.0.0.2;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, process: subprocess.Popen, what: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{what} stopped: {process.communicate()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proxy")
    home = tmp / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env.update(
        RETAIN_HOME=str(home),
        RETAIN_HTTPS="1",
        RETAIN_TRUSTED_PROXIES="127.0.0.2",
        RETAIN_ALLOWED_HOSTS="127.0.0.1",
        RETAIN_LANGUAGE="en",
    )
    run = {"env": env, "check": True, "capture_output": True, "timeout": 600}
    subprocess.run([RETAIN, "migrate"], **run)
    subprocess.run(
        [RETAIN, "createuser", "alice", "--role", "admin", "--password", PASSWORD], **run
    )
    upstream, port = _free_port(), _free_port()
    server = subprocess.Popen(
        [RETAIN, "serve", "--port", str(upstream), "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    user = "user root;" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(
        NGINX_CONF.format(user=user, tmp=tmp, port=port, upstream=upstream)
    )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(upstream, server, "retain serve")
        _wait(port, nginx, "nginx")
        yield {"https": f"https://127.0.0.1:{port}", "direct": f"http://127.0.0.1:{upstream}",
               "db": home / "retain.sqlite3"}  # fmt: skip
    finally:
        nginx.terminate()
        server.terminate()
        nginx.wait(timeout=30)
        server.wait(timeout=30)


def _opener(follow: bool = False):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    jar = http.cookiejar.CookieJar()
    handlers = [
        urllib.request.HTTPSHandler(context=context),
        urllib.request.HTTPCookieProcessor(jar),
    ]
    if not follow:
        handlers.append(NoRedirect())
    return urllib.request.build_opener(*handlers)


def _get(opener, url, headers=None):
    try:
        response = opener.open(urllib.request.Request(url, headers=headers or {}), timeout=30)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()
    return response.status, response.headers, response.read().decode()


def _audit_ips(db: Path, action: str) -> list[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "select ip from audit_auditevent where action = ? order by id", (action,)
        ).fetchall()
    return [r[0] for r in rows]


def test_pages_load_through_the_tls_proxy_without_a_redirect_loop(behind_nginx):
    status, headers, html = _get(_opener(), behind_nginx["https"] + "/login/")

    assert status == 200, headers
    assert "csrfmiddlewaretoken" in html
    assert "max-age=31536000" in headers["Strict-Transport-Security"]


def test_the_audit_trail_records_the_client_not_the_proxy(behind_nginx):
    opener = _opener()
    url = behind_nginx["https"] + "/login/"
    _status, _headers, html = _get(opener, url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": "alice", "password": PASSWORD}
    ).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Referer": url, "X-Forwarded-For": "203.0.113.9"},  # a lie nginx overwrites
    )
    try:
        opener.open(request, timeout=30)
        status = 200
    except urllib.error.HTTPError as exc:
        status = exc.code

    assert status == 302  # signed in, sent on to the board
    assert _audit_ips(behind_nginx["db"], "login") == ["127.0.0.1"]


def test_forwarded_headers_from_anyone_else_are_ignored(behind_nginx):
    status, headers, _html = _get(
        _opener(),
        behind_nginx["direct"] + "/login/",
        {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
    )

    assert status == 301  # plain HTTP from a client, whatever it claims
    assert headers["Location"].startswith("https://127.0.0.1")
