"""RFC 9457 problem details: every error the API answers is ``application/problem+json``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.api.answers import answer_for
from hub.errors import HubError, InvalidPayload

__all__ = ["PROBLEM_JSON", "ProblemError", "install_problem_handlers", "problem"]

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://referral-hub.org/problems/"


class ProblemError(Exception):
    """Raised inside a route to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.extensions = extensions


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body = {"type": _TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _from_hub_error(exc: HubError) -> JSONResponse:
    answer = answer_for(exc)
    detail = answer.detail_for(exc)
    if isinstance(exc, InvalidPayload):
        errors = [{"field": path, "message": message} for path, message in exc.errors]
        return problem(answer.status, answer.title, detail, errors=errors)
    return problem(answer.status, answer.title, detail)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.title, exc.detail, headers=headers, **exc.extensions)

    async def on_hub_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HubError)
        return _from_hub_error(exc)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return problem(exc.status_code, title, str(exc.detail))

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"]}
            for error in exc.errors()
        ]
        return problem(422, "Invalid request", "the request parameters are invalid", errors=errors)

    async def on_unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return problem(500, "Internal error", "the hub could not handle this request")

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(HubError, on_hub_error)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)
