"""gunicorn settings, from the environment.

`make run` serves one process with many threads: scans from several doors are served in
parallel, and the in-memory login limiter stays exact. For several processes, set
WEB_CONCURRENCY and point RATELIMIT_STORAGE_URI at Redis (see README, "Running in production").
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
