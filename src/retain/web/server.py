"""``retain serve``'s multi-process server: gunicorn with several worker processes.

gunicorn's master forks ``workers`` processes (threads in each: ``gthread``), restarts one
that dies, and on SIGHUP starts fresh workers (new code and settings) and lets the old ones
finish their requests (graceful restart); SIGTERM stops gracefully. waitress (one process,
threads) is used with one worker or where gunicorn is missing (Windows).
"""

from __future__ import annotations

import os
from typing import Any


def gunicorn_available() -> bool:
    if os.name != "posix":
        return False
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


def default_workers() -> int:
    """2 x cores + 1 (gunicorn's advice) where gunicorn runs, else 1 (waitress)."""
    return 2 * (os.cpu_count() or 1) + 1 if gunicorn_available() else 1


def _imports_warm() -> None:
    """Import every view and the analytics engine in a worker before it takes requests:
    otherwise its first board pays for them (1.2 s instead of 0.1 s), at the time a restart
    sends every user's next request to a new worker. About 3.5 s of CPU per worker at start."""
    from django.urls import get_resolver

    import retain.analytics
    import retain.kpis.selectors  # noqa: F401

    get_resolver().url_patterns  # noqa: B018  (imports every view module)


def gunicorn_serve(*, host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "graceful_timeout": 30,
        "timeout": 120,  # a scoring preview or an export may take a while
        # gunicorn closes an idle kept-alive connection after 2 s by default; a client that
        # sends its next request (a sign-in POST after the form) just then gets the connection
        # closed without an answer. 75 s outlasts the usual proxy idle timeout (60 s).
        "keepalive": 75,
        "proc_name": "retain",
        # Forwarded headers reach Django untouched; TrustedProxyMiddleware believes them only
        # from RETAIN_TRUSTED_PROXIES (gunicorn would trust loopback on its own).
        "forwarded_allow_ips": "",
        "accesslog": None,  # one JSON line per request from retain.request instead
        "errorlog": "-",
    }

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from retain.wsgi import application

            _imports_warm()
            return application

    Application().run()
