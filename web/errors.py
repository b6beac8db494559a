"""Database and validation errors mapped to clear HTTP answers instead of 500s."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", exc)
    return str(orig).strip().splitlines()[0][:300] if str(orig).strip() else type(orig).__name__


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"conflicts with an existing record or refers to a missing one: {_first_line(exc)}"},
            status_code=status.HTTP_409_CONFLICT,
        )

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return JSONResponse({"detail": f"value not accepted by the database: {_first_line(exc)}"},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        return JSONResponse({"detail": f"number out of range: {exc}"},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(ValidationError)
    async def _validation(_: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse({"detail": jsonable_encoder(exc.errors(include_url=False, include_context=False))},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
