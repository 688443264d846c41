"""gunicorn settings for every Mosaic web container (`gunicorn -c docker/gunicorn.conf.py APP`).

Tune per container with the environment: WEB_CONCURRENCY (worker processes, gunicorn reads it
itself), GUNICORN_THREADS, GUNICORN_TIMEOUT.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads: nginx streams uploads through unbuffered (proxy_request_buffering off), so a slow client
# holds a worker thread for the length of its upload; threads keep the others served meanwhile.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Big batches upload for minutes; nginx allows the same (proxy_read_timeout/proxy_send_timeout).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 30
keepalive = 75  # longer than nginx's upstream keepalive_timeout (60s), so nginx closes first
# Only nginx reaches these containers (no published ports): trust its X-Forwarded-* headers.
forwarded_allow_ips = "*"
accesslog = "-"
errorlog = "-"
worker_tmp_dir = "/dev/shm"  # heartbeat files off the container's overlay filesystem
# gunicorn >= 25.1 opens an admin socket at ~/.gunicorn/gunicorn.ctl, one path shared by every
# gunicorn of a user on a host; nothing here uses it. (Older gunicorns ignore unknown names.)
control_socket_disable = True
