"""Domain errors: each carries a message a user can act on and a stable code."""

from __future__ import annotations


class KBError(Exception):
    """Base of every error the library raises on purpose."""

    code = "kb_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidQueryError(KBError):
    """The query or its parameters cannot be searched as given."""

    code = "invalid_query"


class InvalidFilterError(InvalidQueryError):
    """A filter expression is malformed."""

    code = "invalid_filter"


class NotFoundError(KBError):
    """A document or other object does not exist."""

    code = "not_found"


class IndexMissingError(KBError):
    """The library has no index yet."""

    code = "index_missing"


class IndexMismatchError(KBError):
    """The index on disk was built with another embedder or format."""

    code = "index_mismatch"


class EmbedderUnavailableError(KBError):
    """An embedder cannot be loaded (missing extra, unknown model)."""

    code = "embedder_unavailable"


class DocumentError(KBError):
    """A source file cannot be read or parsed."""

    code = "document_error"


class UnsupportedFileError(DocumentError):
    """The file type has no reader."""

    code = "unsupported_file"


class NoTextError(DocumentError):
    """The file holds no extractable text (e.g. a scanned PDF); it is skipped with a warning."""

    code = "no_text"


class AuthenticationError(KBError):
    """The request carries no valid key where one is needed."""

    code = "unauthorized"


class PermissionDeniedError(KBError):
    """The caller's role does not allow the operation."""

    code = "forbidden"


class DatabaseUnavailableError(KBError):
    """The configured database cannot be used (missing driver, unreachable server)."""

    code = "database_unavailable"


class EngineUnavailableError(KBError):
    """The search engine holding the indexes (Milvus) cannot be reached or used."""

    code = "engine_unavailable"
