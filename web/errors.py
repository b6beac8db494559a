"""Database and validation errors mapped to clear HTTP answers instead of 500s.

No answer carries raw driver text (SQL, parameters, constraint names) or echoes the input
that failed validation: the client gets the field and the rule, the log gets the details
(through the redacting renderer of ``fleet.logs``)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError

log = structlog.get_logger(__name__)

#: Seconds a client is asked to wait before retrying when the database is unavailable.
RETRY_AFTER_S = 5


def public_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors as the client sees them: the rule (``type``, ``msg``) and the field
    (``loc``), without the rejected input (which may be a password, huge, or not finite)."""
    return [{"type": e.get("type"), "loc": jsonable_encoder(e.get("loc", ())), "msg": e.get("msg")}
            for e in errors]


def _unprocessable(errors: list[Any]) -> JSONResponse:
    return JSONResponse({"detail": public_errors(errors)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _unprocessable(list(exc.errors()))

    @app.exception_handler(ValidationError)
    async def _validation(_: Request, exc: ValidationError) -> JSONResponse:
        return _unprocessable(exc.errors(include_url=False, include_context=False))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("database refused a write", path=request.url.path, error=type(exc.orig).__name__)
        return JSONResponse({"detail": "conflicts with an existing record or refers to a missing one"},
                            status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        log.warning("database refused a value", path=request.url.path, error=type(exc.orig).__name__)
        return JSONResponse({"detail": "a value is out of range or of the wrong type for the database"},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, __: OverflowError) -> JSONResponse:
        return JSONResponse({"detail": "a number is out of range"},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(OperationalError)
    async def _unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable", path=request.url.path, exc_info=exc)
        return JSONResponse({"detail": "the database is unavailable; try again shortly"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                            headers={"Retry-After": str(RETRY_AFTER_S)})

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("database error", path=request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal database error"},
                            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)
