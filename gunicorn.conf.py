"""Production serving: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Settings can be overridden with GUNICORN_CMD_ARGS (e.g. "--bind=0.0.0.0:8000 --workers=4").
The delivery worker is a separate process: ``flask --app wsgi worker``.
"""

import multiprocessing

from gunicorn.glogging import Logger

from bizportal.common.logs import format_gunicorn
from bizportal.config import log_format_setting

bind = "127.0.0.1:8000"
workers = min(multiprocessing.cpu_count() * 2 + 1, 8)
threads = 2
worker_class = "gthread"
timeout = 30
graceful_timeout = 30
keepalive = 5
# Behind a TLS-terminating proxy: trust its X-Forwarded-* headers only from loopback by default.
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
errorlog = "-"
# Log lines carry no query strings: they may hold OIDC codes or state.
# The request id is the one the portal echoed (X-Request-ID); JSON lines carry it as request_id.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss %({x-request-id}o)s'


class PortalLogger(Logger):
    """gunicorn's own lines in the portal's format (BIZPORTAL_LOG_FORMAT: json or text)."""

    def setup(self, cfg):
        super().setup(cfg)
        format_gunicorn([self.error_log, self.access_log], log_format_setting())


logger_class = PortalLogger
