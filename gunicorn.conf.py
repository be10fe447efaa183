"""gunicorn settings, from the environment.

`make run` serves one process with many threads: scans from several doors are served in
parallel, and the in-memory login limiter stays exact. `make serve` (production) runs
WEB_CONCURRENCY processes (2 by default there); with more than one process the limiter must
share its counts through Redis (RATELIMIT_STORAGE_URI), see README, "Running in production".
Logs, gunicorn's own and its access log included, are JSON lines on stdout (api/logs.py).
"""

import os

from api import edge
from api.logs import logging_config

# gunicorn's own refusals (request line or headers over the limits below, malformed requests)
# leave as problem+json like every other error, not as gunicorn's HTML page.
edge.install()

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# The longest URL the spec allows (every query parameter at its maxLength, percent-encoded)
# fits the request line with room to spare (tests/contract/test_edge.py checks it).
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", edge.REQUEST_LINE_LIMIT))
limit_request_field_size = int(
    os.environ.get("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", edge.HEADER_FIELD_LIMIT)
)
limit_request_fields = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELDS", edge.HEADER_COUNT_LIMIT))
# The access log is on unless GUNICORN_ACCESS_LOG is set empty (the benchmark keeps it on).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
logconfig_dict = logging_config(
    os.environ.get("LOG_LEVEL", "INFO"), access_log=accesslog is not None
)


def when_ready(server) -> None:
    storage = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    if workers > 1 and storage.startswith("memory://"):
        server.log.warning(
            "%d worker processes share no rate-limit counts with RATELIMIT_STORAGE_URI=%s: "
            "each process counts failed logins on its own. Set it to redis://HOST:6379.",
            workers,
            storage,
        )
