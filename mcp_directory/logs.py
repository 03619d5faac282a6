"""Where the logs go and what they may say (SPEC §3, §10).

Everything goes to stderr (stdout carries the MCP stdio protocol), through `RedactingFormatter`:
no configured secret survives a line, tracebacks included, nor anything shaped like a JWT (an access
token, valid or not, wherever a client put it: a header echoed in an error, a path). The audit trail
(`mcp_directory.audit`) is one bare JSON line per write, whatever the log level.

uvicorn's access log (`serve --transport http|sse`, which keeps this configuration) names each
request's path, and a query may carry a credential: a token sent as `?access_token=` (refused all
the same, SPEC §10), the legacy transport's `?session_id=`. `QueryFreeAccessLog` logs the path
with `?[redacted]` in place of the query, so no token, whole or in part, reaches the log whatever
it looks like.
"""

from __future__ import annotations

import logging
import re
import sys

from .config import Settings
from .errors import Redactor

QUERY = re.compile(r"\?\S*")  # from a `?` to the end of the path it belongs to
# A JWT's header is base64url of a JSON object: `eyJ` (`{"`), then its other parts after dots.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)*")


class RedactingFormatter(logging.Formatter):
    """Formats a log record, tracebacks included, with every secret and every JWT removed."""

    def __init__(self, redact: Redactor, fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return JWT.sub(Redactor.REPLACEMENT, self.redact(super().format(record)))


class QueryFreeAccessLog(logging.Filter):
    """Every query in an access log record replaced by `?[redacted]`: in the record's arguments
    (uvicorn passes the path with its query as one), or in a message that has none."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(without_query(a) if isinstance(a, str) else a for a in record.args)
        elif not record.args and isinstance(record.msg, str):
            record.msg = without_query(record.msg)
        return True


def without_query(text: str) -> str:
    return QUERY.sub(f"?{Redactor.REPLACEMENT}", text)


ACCESS_LOG_FILTER = QueryFreeAccessLog()


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    """Log to stderr only, redacted; the audit trail apart; no query in the access log."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(Redactor(settings.secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    audit = logging.StreamHandler(sys.stderr)
    audit.setFormatter(RedactingFormatter(Redactor(settings.secrets), "%(message)s"))
    audit_log = logging.getLogger("mcp_directory.audit")
    audit_log.handlers[:] = [audit]
    audit_log.propagate = False
    logging.getLogger("uvicorn.access").addFilter(ACCESS_LOG_FILTER)  # added once: addFilter skips a known one
    for name in ("httpx", "httpx2", "httpcore", "httpcore2"):
        logging.getLogger(name).setLevel(logging.WARNING)
