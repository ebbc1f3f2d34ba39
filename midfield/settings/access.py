"""Settings of who may do and see what: the departments file (callers and their API keys, and
where each department's work goes), sign-in and sessions, and the key that keeps citizens'
personal data out of what is stored in clear (issue 18).

Apart from the rest because these hold the secrets and are reviewed with docs/security.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, PositiveFloat, SecretStr
from pydantic_settings import BaseSettings

from midfield.settings.declaring import settings_config

__all__ = ["AccessSettings", "DepartmentSettings", "PrivacySettings"]


class DepartmentSettings(BaseSettings):
    """Who may call Midfield and where work for each department goes (see docs/departments.md)."""

    model_config = settings_config("MIDFIELD_DEPARTMENTS_")

    file: Path | None = Field(
        None,
        description=(
            "TOML file naming the office and each department: code, name, API keys, webhook "
            "URL and secret. None: no departments (the tasks API then only knows the office)."
        ),
    )
    min_key_length: Annotated[int, Field(ge=1)] = Field(
        20,
        description=(
            "Shortest API key the directory accepts (a key from `secrets.token_urlsafe(32)` has "
            "43 characters); a shorter one stops every process that reads the file."
        ),
    )


class AccessSettings(BaseSettings):
    """Who may read what on every HTTP port (docs/security.md): sessions, sign-in throttling,
    masking of personal data and the grouped alert on repeated denials."""

    model_config = settings_config("MIDFIELD_ACCESS_")

    session_key: SecretStr = Field(
        SecretStr(""),
        description=(
            "Fernet key (32 url-safe base64 bytes) that seals the dashboard's session cookie; "
            "`midfield users new-session-key` makes one. Empty: a new key per process, so "
            "sessions end when the worker restarts and are not shared between workers."
        ),
    )
    session_hours: Annotated[float, Field(gt=0, le=24)] = Field(
        12.0, description="A session ends this long after sign-in (one duty shift and a half)."
    )
    secure_cookies: bool = Field(
        False,
        description=(
            "Mark the session cookie Secure (sent over HTTPS only). Set it in production, where "
            "TLS sits in front of every HTTP port (docs/deploy.md)."
        ),
    )
    sign_in_attempts: Annotated[int, Field(ge=1)] = Field(
        5, description="Failed sign-ins per login and address before sign-in is refused (429)."
    )
    sign_in_lockout_s: PositiveFloat = Field(
        900.0, description="How long failed sign-ins are remembered for that count."
    )
    unmasked_roles: tuple[str, ...] = Field(
        ("director", "duty-officer"),
        description=(
            "Roles that see citizens' personal data (names, phone and ID numbers) in clear; "
            "every other reader sees them masked."
        ),
    )
    scrape_token: SecretStr = Field(
        SecretStr(""),
        description=(
            "Bearer token Prometheus presents for GET /metrics on the worker and every intake; "
            "empty: /metrics needs a principal with the ops role."
        ),
    )
    oidc_issuer: str = Field(
        "",
        description=(
            "The county's single sign-on (OIDC) issuer, e.g. https://sso.example.gov.cn/realms/"
            "county; empty: no single sign-on. A person's token is accepted as Authorization: "
            "Bearer <token> when it verifies and names a person of the directory."
        ),
    )
    oidc_audience: str = Field("", description="The audience (client id) tokens must name.")
    oidc_jwks_url: str = Field(
        "",
        description=(
            "Where the issuer publishes its signing keys: the jwks_uri of its "
            ".well-known/openid-configuration (never guessed)."
        ),
    )
    oidc_login_claim: str = Field(
        "preferred_username", description="The claim that holds the directory's login."
    )
    failed_credentials: Annotated[int, Field(ge=1)] = Field(
        30,
        description=(
            "Failed credentials (401) from one address within failed_credentials_window_s after "
            "which an intake answers 429 without checking more."
        ),
    )
    failed_credentials_window_s: PositiveFloat = Field(
        60.0, description="The window of failed_credentials."
    )
    denials_alert_at: Annotated[int, Field(ge=1)] = Field(
        5,
        description=(
            "Denials of one principal (or one address without credentials) in one day that "
            "raise the grouped security alert; it escalates at 10x and 100x, never per request."
        ),
    )


class PrivacySettings(BaseSettings):
    """Keeping citizens' personal data out of what is stored in clear (issue 18)."""

    model_config = settings_config("MIDFIELD_PRIVACY_")

    key: SecretStr = Field(
        SecretStr(""),
        description=(
            "Key of the HMAC-SHA256 digests that stand for personal data (phone and ID numbers, "
            "names, OpenIDs) in the HTTP intakes' dead letters; any long random text. Empty: a "
            "new key per process, so digests match only within one run."
        ),
    )
