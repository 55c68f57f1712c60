"""The anonymous user (`--anonymous-auth`): requests that present no credential act as `system:anonymous`."""
from __future__ import annotations

from apiserver.auth.authn.interface import AuthRequest
from apiserver.auth.user import ALL_UNAUTHENTICATED, ANONYMOUS, UserInfo

ANONYMOUS_USER = UserInfo(ANONYMOUS, groups=(ALL_UNAUTHENTICATED,))


class AnonymousAuthenticator:
    """Always answers `system:anonymous` in group `system:unauthenticated`.

    Only meaningful last, behind the real authenticators with fail-on-error (`RequestAuthenticator(...,
    anonymous=AnonymousAuthenticator())`), so that a wrong credential is a 401 and not an anonymous request.
    """

    async def authenticate(self, request: AuthRequest) -> UserInfo:
        return ANONYMOUS_USER
