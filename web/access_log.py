"""Keeps credentials out of the server's logs: uvicorn writes the path and query of every
request and websocket it accepts, so any ``token=`` (or ``access_token=``) query value is
replaced by ``[redacted]`` before a record is written."""

from __future__ import annotations

import logging
import re

#: Loggers that write request lines: uvicorn's access log and its websocket lines.
REQUEST_LOGGERS = ("uvicorn.access", "uvicorn.error")
_TOKEN_VALUE = re.compile(r"((?:^|[?&;\s])(?:access_)?token=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every ``token=`` query value replaced by ``[redacted]``."""
    return _TOKEN_VALUE.sub(r"\1[redacted]", text)


class TokenRedactingFilter(logging.Filter):
    """Rewrites the message and arguments of a record that hold a token query value, keeping
    the arguments' shape (uvicorn's access formatter unpacks them); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_tokens_in_request_logs() -> None:
    """Put the filter on uvicorn's request loggers (once)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactingFilter) for f in logger.filters):
            logger.addFilter(TokenRedactingFilter())
