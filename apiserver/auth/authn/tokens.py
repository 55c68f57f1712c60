"""Bearer tokens: the `Authorization` header, static tokens from `--token-auth-file`, audience-agnostic tokens,
and TokenReview's view of the token authenticators.

Mirrors k8s.io/apiserver/pkg/authentication/request/bearertoken and token/tokenfile. The token file is read
with the rules of Go's encoding/csv (upstream reads it with that package), so a file kube-apiserver accepts is
accepted here with the same users, and a file it rejects fails start-up with the same message.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from apiserver.auth.authn.interface import (
    AuthenticatedToken,
    AuthRequest,
    TokenAuthenticator,
    aggregate_errors,
    error_messages,
    intersect_audiences,
)
from apiserver.auth.user import UserInfo, add_authenticated_group
from apiserver.meta.errors import InternalError, Unauthorized

logger = logging.getLogger(__name__)

INVALID_BEARER_TOKEN = "invalid bearer token"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, or None when there is none.

    As upstream: surrounding space is ignored, the scheme is case-insensitive, the token ends at the next
    space, and `Bearer  x` (two spaces) carries no token at all.
    """
    value = (authorization or "").strip()
    parts = value.split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


class BearerTokenAuthenticator:
    """Authenticates `Authorization: Bearer` requests with a token authenticator (usually a union).

    A presented token that no token authenticator claims is an error ("invalid bearer token"), so a request
    with an unknown token is a 401 and never anonymous. `api_audiences` (`--api-audiences`) are the audiences
    every token must be valid for to reach this server.
    """

    def __init__(self, tokens: TokenAuthenticator, *, api_audiences: Sequence[str] = ()) -> None:
        self._tokens = tokens
        self._audiences = tuple(api_audiences) or None

    async def authenticate(self, request: AuthRequest) -> UserInfo | None:
        token = bearer_token(request.header("authorization"))
        if token is None:
            return None
        result = await self._tokens.authenticate_token(token, self._audiences)
        if result is None:
            raise Unauthorized(INVALID_BEARER_TOKEN)
        return result.user


class AudienceAgnosticTokenAuthenticator:
    """Wraps a token authenticator that knows nothing of audiences (static and bootstrap tokens): its tokens are
    valid exactly for the API audiences (upstream's WrapAudienceAgnosticToken)."""

    def __init__(self, api_audiences: Sequence[str], tokens: TokenAuthenticator) -> None:
        self._api_audiences = tuple(api_audiences)
        self._tokens = tokens

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> AuthenticatedToken | None:
        if audiences is None:
            return await self._tokens.authenticate_token(token)
        matching = intersect_audiences(self._api_audiences, audiences)
        if not matching:
            return None
        result = await self._tokens.authenticate_token(token)
        return AuthenticatedToken(result.user, matching) if result is not None else None


@dataclass(frozen=True, slots=True)
class TokenReviewResult:
    """What a TokenReview reports: `status.authenticated`, `status.user`, `status.audiences`, `status.error`."""

    authenticated: bool
    user: UserInfo | None = None
    audiences: tuple[str, ...] = ()
    error: str = ""


async def review_token(
    tokens: TokenAuthenticator, token: str, *, audiences: Sequence[str] = (), api_audiences: Sequence[str] = ()
) -> TokenReviewResult:
    """Authenticate `token` as upstream's TokenReview does: as a bearer token, for the review's audiences or
    else the API audiences, with `system:authenticated` added and the authenticators' error text exposed.

    Raises InternalError("error validating audiences") when an authenticator accepts the token for none of the
    requested audiences (upstream's badAuthenticatorAuds). The caller rejects an empty token beforehand.
    """
    wanted = tuple(audiences) or tuple(api_audiences)
    parsed = bearer_token(f"Bearer {token}")
    if parsed is None:
        return TokenReviewResult(authenticated=False)
    try:
        result = await tokens.authenticate_token(parsed, wanted or None)
    except Unauthorized as error:
        return TokenReviewResult(authenticated=False, error=aggregate_errors(error_messages(error)))
    if result is None:
        return TokenReviewResult(authenticated=False, error=INVALID_BEARER_TOKEN)
    if wanted and not intersect_audiences(wanted, result.audiences):
        logger.error("token_review_audiences_mismatch", extra={"want": wanted, "got": result.audiences})
        raise InternalError("error validating audiences")
    return TokenReviewResult(True, add_authenticated_group(result.user), result.audiences)


# --- --token-auth-file ----------------------------------------------------------------------------------------


class TokenFileError(Exception):
    """`--token-auth-file` cannot be used; the message is kube-apiserver's start-up error."""


class StaticTokenAuthenticator:
    """Tokens from a fixed table (the token file). Unknown tokens are not this authenticator's (None)."""

    def __init__(self, tokens: Mapping[str, UserInfo]) -> None:
        self._tokens = dict(tokens)

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> AuthenticatedToken | None:
        user = self._tokens.get(token)
        return AuthenticatedToken(user) if user is not None else None


def load_token_file(path: Path) -> StaticTokenAuthenticator:
    """Read `--token-auth-file`: CSV records `token,user,uid[,"group1,group2"]`, extra columns ignored.

    Records with an empty token are skipped and a repeated token keeps its last record, both with a warning.
    Raises TokenFileError with upstream's message for an unreadable file, a CSV syntax error, or a record with
    fewer than three columns.
    """
    tokens: dict[str, UserInfo] = {}
    for number, record in enumerate(_read_records(path), start=1):
        if len(record) < 3:
            raise TokenFileError(
                f"token file '{path}' must have at least 3 columns (token, user name, user uid), found {len(record)}"
            )
        token = record[0].decode("latin-1")  # the bytes as HTTP headers are decoded, so they compare equal
        if not token:
            logger.warning("token_file_empty_token", extra={"path": str(path), "record": number})
            continue
        if token in tokens:
            logger.warning("token_file_duplicate_token", extra={"path": str(path), "record": number})
        name, uid = _text(record[1]), _text(record[2])
        groups = tuple(_text(record[3]).split(",")) if len(record) >= 4 else ()
        tokens[token] = UserInfo(name=name, uid=uid, groups=groups)
    return StaticTokenAuthenticator(tokens)


def _read_records(path: Path) -> list[list[bytes]]:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise TokenFileError(f"read {path}: is a directory") from None
    except OSError as error:
        raise TokenFileError(f"open {path}: {(error.strerror or str(error)).lower()}") from None
    reader = _GoCSVReader(data)
    records: list[list[bytes]] = []
    while (record := reader.read_record()) is not None:
        records.append(record)
    return records


def _text(field: bytes) -> str:
    return field.decode("utf-8", "surrogateescape")


class _GoCSVReader:
    """encoding/csv's Reader with its defaults (comma `,`, no comments, strict quotes, any field count).

    Blank lines are skipped, `\\r\\n` counts as `\\n`, quoted fields may span lines and escape `"` as `""`.
    Errors are TokenFileError with Go's ParseError text: `parse error on line L, column C: <reason>`, the
    column a 1-based byte index.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0
        self.line_number = 0

    def _read_line(self) -> tuple[bytes, bool]:
        """The next line with its `\\n` (if any) and whether the input had already ended."""
        end = self._data.find(b"\n", self._offset)
        line = self._data[self._offset:] if end < 0 else self._data[self._offset:end + 1]
        self._offset += len(line)
        self.line_number += 1
        if not line:
            return b"", True
        if end < 0 and line.endswith(b"\r"):
            line = line[:-1]  # Go drops a trailing \r before EOF
        if line.endswith(b"\r\n"):
            line = line[:-2] + b"\n"
        return line, False

    def read_record(self) -> list[bytes] | None:
        line, ended = self._read_line()
        while not ended and len(line) == _newline_length(line):
            line, ended = self._read_line()
        if ended:
            return None
        return self._parse_fields(line, self.line_number)

    def _parse_fields(self, line: bytes, record_line: int) -> list[bytes]:
        fields: list[bytes] = []
        column = 1
        while True:
            if not line.startswith(b'"'):
                comma = line.find(b",")
                field = line[:comma] if comma >= 0 else line[:len(line) - _newline_length(line)]
                if (quote := field.find(b'"')) >= 0:
                    self._fail(record_line, self.line_number, column + quote, 'bare " in non-quoted-field')
                fields.append(field)
                if comma < 0:
                    return fields
                line, column = line[comma + 1:], column + comma + 1
                continue
            field, line, column, more = self._quoted_field(line[1:], column + 1, record_line)
            fields.append(field)
            if not more:
                return fields

    def _quoted_field(self, line: bytes, column: int, record_line: int) -> tuple[bytes, bytes, int, bool]:
        """One quoted field after its opening quote: (value, rest of line, column, whether a field follows)."""
        value = bytearray()
        position_line = self.line_number
        while True:
            quote = line.find(b'"')
            if quote >= 0:
                value += line[:quote]
                line, column = line[quote + 1:], column + quote + 1
                if line.startswith(b'"'):
                    value += b'"'
                    line, column = line[1:], column + 1
                elif line.startswith(b","):
                    return bytes(value), line[1:], column + 1, True
                elif len(line) == _newline_length(line):
                    return bytes(value), line, column, False
                else:
                    self._fail(record_line, self.line_number, column - 1, 'extraneous or missing " in quoted-field')
            elif line:
                value += line
                column += len(line)
                line, _ = self._read_line()
                if line:
                    position_line, column = position_line + 1, 1
            else:
                self._fail(record_line, position_line, column, 'extraneous or missing " in quoted-field')

    @staticmethod
    def _fail(record_line: int, line: int, column: int, reason: str) -> NoReturn:
        prefix = f"record on line {record_line}; " if record_line != line else ""
        raise TokenFileError(f"{prefix}parse error on line {line}, column {column}: {reason}")


def _newline_length(line: bytes) -> int:
    return 1 if line.endswith(b"\n") else 0
