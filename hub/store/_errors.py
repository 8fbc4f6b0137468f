"""Translation of database-driver errors into :class:`hub.errors.StoreError`.

No SQLAlchemy or driver exception type may cross the store's boundary; callers
catch ``StoreError`` and read ``retriable`` to decide between retrying and
giving up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
    SQLAlchemyError,
    StatementError,
)

from hub.errors import StoreError

__all__ = ["store_errors", "translate", "translating"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


_REFUSALS = (DataError, IntegrityError, NotSupportedError, ProgrammingError)


def translate(exc: SQLAlchemyError) -> StoreError:
    """Build the ``StoreError`` that stands for ``exc``."""
    cause: BaseException = exc
    if isinstance(exc, StatementError) and exc.orig is not None:
        cause = exc.orig
    text = str(cause).strip().splitlines()
    message = text[0] if text else type(cause).__name__
    error = StoreError(f"{type(cause).__name__}: {message}")
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        # The statement never reached the database (a parameter could not be
        # bound, e.g. a naive datetime): the same call would fail again.
        error.retriable = False
    elif isinstance(exc, _REFUSALS):
        # The database refused the statement or its values, not the connection:
        # the same statement would be refused again.
        error.retriable = False
    return error


@contextmanager
def store_errors() -> Iterator[None]:
    """Re-raise SQLAlchemy errors raised in the block as ``StoreError``."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise translate(exc) from exc


def translating(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate a repository function so its driver errors become ``StoreError``."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with store_errors():
            return func(*args, **kwargs)

    return wrapper
