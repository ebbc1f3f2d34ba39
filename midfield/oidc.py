"""Single sign-on: a county's identity provider vouches for who a person is (an OIDC ID or access
token, a JWT), the directory says what that person may do (docs/security.md).

Verified with PyJWT against the provider's published keys (JWKS, fetched and cached by
``PyJWKClient``): the signature with an asymmetric algorithm only (RS256/ES256 families — never
``none`` or an HMAC secret an attacker could choose), the issuer, the audience, expiry and
not-before, with a small leeway for clock skew. The login is a configured claim
(``preferred_username`` by default) and must name a person of the directory: an unknown person
is refused even with a valid token, because the provider authenticates, Midfield authorizes.
"""

from __future__ import annotations

import jwt

from midfield.logging import get_logger

__all__ = ["ALGORITHMS", "OidcVerifier", "looks_like_jwt"]

log = get_logger(__name__)

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""Asymmetric signatures only: a token signed with ``none`` or HS256 is refused."""


def looks_like_jwt(credential: str) -> bool:
    """Three base64url parts: a token for the verifier rather than an API key."""
    parts = credential.split(".")
    return len(parts) == 3 and all(parts[:2])


class OidcVerifier:
    """Verify a provider's tokens; :meth:`login` answers the person's login or ``None``."""

    def __init__(self, *, issuer: str, audience: str, jwks_url: str, login_claim: str,
                 leeway_s: float = 60.0) -> None:  # fmt: skip
        self.issuer, self.audience, self.login_claim = issuer, audience, login_claim
        self.leeway_s = leeway_s
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=10)

    def login(self, token: str) -> str | None:
        """The login the token vouches for; ``None`` for any token that does not verify. May
        fetch the provider's keys (blocking, at most once per unknown key id and cool-down):
        call it off the event loop."""
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError) as exc:  # PyJWKClientError is a PyJWTError
            log.info("token refused", reason=type(exc).__name__)
            return None
        login = claims.get(self.login_claim)
        return login if isinstance(login, str) and login else None
