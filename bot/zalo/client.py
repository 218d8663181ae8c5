"""HTTP client for the Zalo OA Open API, the business (template) API and the OAuth endpoint.

Every call goes through `ZaloClient._request`, which applies the timeout and turns every failure
into an exception from `bot.zalo.errors`. Zalo reports API errors as HTTP 200 with a non-zero
`error` in the body, so the body is always checked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import requests

from bot.zalo.errors import (
    OAuthError,
    ZaloError,
    ZaloServerError,
    ZaloTransportError,
    error_for_code,
)

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 1024 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024

# Which credential a request carries: the OA access token, or the app secret (OAuth endpoint).
Auth = Literal["access_token", "secret_key"]


@dataclass(frozen=True)
class SendResult:
    """What Zalo answered to a sent message."""

    message_id: str
    user_id: str | None
    quota: dict[str, Any] | None
    rate_limit_remaining: int | None
    rate_limit_limit: int | None


@dataclass(frozen=True, repr=False)
class TokenPair:
    """An access token and the single-use refresh token that replaces it."""

    access_token: str
    refresh_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"TokenPair(access_token='***', refresh_token='***', expires_in={self.expires_in})"


class ZaloClient:
    """Client for the Zalo endpoints this bot uses."""

    def __init__(
        self,
        *,
        api_base: str,
        oauth_base: str,
        business_base: str,
        app_id: str,
        app_secret: str,
        access_token: Callable[[], str],
        timeout: float = 10,
        session: requests.Session | None = None,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._oauth_base = oauth_base.rstrip("/")
        self._business_base = business_base.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._access_token = access_token
        self._timeout = timeout
        self._session = session or requests.Session()
        # requests reads the proxy and CA-bundle variables of the environment on every call,
        # which was half of a message's CPU in the dispatcher benchmark: read them once per
        # Zalo host here and pass them explicitly (docs/performance.md, outbox dispatch).
        self._environment = {
            _origin(base): self._session.merge_environment_settings(base, {}, None, None, None)
            for base in (self._api_base, self._oauth_base, self._business_base)
        }
        self._session.trust_env = False

    def send_message(self, user_id: str, message: dict[str, Any]) -> SendResult:
        """Send a consultation message to a user who interacted with the OA recently."""
        body, response = self._request(
            "POST",
            f"{self._api_base}/v3.0/oa/message/cs",
            auth="access_token",
            json={"recipient": {"user_id": user_id}, "message": message},
        )
        return _send_result(body, response)

    def send_template(
        self, user_id: str, template_id: str, template_data: dict[str, Any]
    ) -> SendResult:
        """Send an approved template message to a user by Zalo id."""
        body, response = self._request(
            "POST",
            f"{self._api_base}/v3.0/oa/message/template",
            auth="access_token",
            json={"user_id": user_id, "template_id": template_id, "template_data": template_data},
        )
        return _send_result(body, response)

    def send_template_by_phone(
        self, phone: str, template_id: str, template_data: dict[str, Any], tracking_id: str
    ) -> SendResult:
        """Send an approved template message to a phone number (84...)."""
        body, response = self._request(
            "POST",
            f"{self._business_base}/message/template",
            auth="access_token",
            json={
                "phone": phone,
                "template_id": template_id,
                "template_data": template_data,
                "tracking_id": tracking_id,
            },
        )
        return _send_result(body, response)

    def upload_image(self, content: bytes, filename: str, content_type: str) -> str:
        """Upload a jpg/png (at most 1 MB) and return its attachment id."""
        data = self._upload("image", MAX_IMAGE_BYTES, content, filename, content_type)
        return _required_str(data, "attachment_id", "upload/image")

    def upload_file(self, content: bytes, filename: str, content_type: str) -> str:
        """Upload a pdf/doc/docx/csv (at most 5 MB) and return its file token."""
        data = self._upload("file", MAX_FILE_BYTES, content, filename, content_type)
        return _required_str(data, "token", "upload/file")

    def get_user_detail(self, user_id: str) -> dict[str, Any]:
        """Return a user's profile (display name, follower flag, shared info)."""
        body, _ = self._request(
            "GET",
            f"{self._api_base}/v3.0/oa/user/detail",
            auth="access_token",
            params={"data": json.dumps({"user_id": user_id}, separators=(",", ":"))},
        )
        return _data(body, "user/detail")

    def refresh_access_token(self, refresh_token: str) -> TokenPair:
        """Trade the single-use refresh token for a new token pair."""
        return self._token_request(
            {"app_id": self._app_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    def exchange_code(self, code: str, code_verifier: str) -> TokenPair:
        """Trade an OA admin's consent code (PKCE) for the first token pair."""
        return self._token_request(
            {
                "app_id": self._app_id,
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
            }
        )

    def authorization_url(self, redirect_uri: str, code_challenge: str, state: str) -> str:
        """Build the consent page URL an OA admin opens to grant this app access."""
        query = urlencode(
            {
                "app_id": self._app_id,
                "redirect_uri": redirect_uri,
                "code_challenge": code_challenge,
                "state": state,
            }
        )
        return f"{self._oauth_base}/v4/oa/permission?{query}"

    def _upload(
        self, kind: str, max_bytes: int, content: bytes, filename: str, content_type: str
    ) -> dict[str, Any]:
        """Post one multipart upload after checking its size."""
        if not content:
            raise ValueError(f"cannot upload an empty {kind}")
        if len(content) > max_bytes:
            raise ValueError(f"{kind} is {len(content)} bytes; Zalo accepts at most {max_bytes}")
        body, _ = self._request(
            "POST",
            f"{self._api_base}/v2.0/oa/upload/{kind}",
            auth="access_token",
            files={"file": (filename, content, content_type)},
        )
        return _data(body, f"upload/{kind}")

    def _token_request(self, form: dict[str, str]) -> TokenPair:
        """Post a grant to the OAuth token endpoint and read the pair it returns."""
        body, _ = self._request(
            "POST", f"{self._oauth_base}/v4/oa/access_token", auth="secret_key", data=form
        )
        access_token = body.get("access_token")
        refresh_token = body.get("refresh_token")
        expires_in = _to_int(body.get("expires_in"))
        if not (isinstance(access_token, str) and access_token):
            raise OAuthError("token endpoint answered without an access_token")
        if not (isinstance(refresh_token, str) and refresh_token):
            raise OAuthError("token endpoint answered without a refresh_token")
        if expires_in is None:
            raise OAuthError("token endpoint answered without a numeric expires_in")
        return TokenPair(access_token, refresh_token, expires_in)

    def _request(
        self, method: str, url: str, *, auth: Auth, **kwargs: Any
    ) -> tuple[dict[str, Any], requests.Response]:
        """Send one request and return its JSON body, or raise the matching ZaloError."""
        if auth == "access_token":
            headers = {"access_token": self._access_token()}
        else:
            headers = {"secret_key": self._app_secret}
        # Log the path only: query strings and headers may carry user ids or credentials.
        path = urlsplit(url).path
        try:
            response = self._session.request(
                method,
                url,
                headers=headers,
                timeout=(self._timeout, self._timeout),
                **self._environment[_origin(url)],
                **kwargs,
            )
        except requests.Timeout as exc:
            raise ZaloTransportError(f"{method} {path} timed out after {self._timeout}s") from exc
        except requests.RequestException as exc:
            raise ZaloTransportError(f"{method} {path} failed: {type(exc).__name__}") from exc

        status = response.status_code
        logger.debug("Zalo %s %s answered HTTP %s", method, path, status)
        if status >= 500:
            raise ZaloServerError(status, f"{method} {path} answered HTTP {status}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ZaloTransportError(
                f"{method} {path} answered HTTP {status} with non-JSON"
            ) from exc
        if not isinstance(body, dict):
            raise ZaloTransportError(f"{method} {path} answered JSON that is not an object")

        code = _to_int(body.get("error", 0))
        if code is None:
            raise ZaloTransportError(f"{method} {path} answered a non-numeric error field")
        if code != 0:
            if auth == "secret_key":
                raise _oauth_error(code, body)
            raise error_for_code(code, str(body.get("message") or ""))
        if status >= 400:
            raise ZaloError(f"{method} {path} answered HTTP {status}", retryable=status == 429)
        return body, response


def _to_int(value: Any) -> int | None:
    """Read an integer sent as a number or a string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _data(body: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """Return the `data` object of a successful API answer."""
    data = body.get("data")
    if not isinstance(data, dict):
        raise ZaloTransportError(f"{endpoint} answered success without a data object")
    return data


def _required_str(data: dict[str, Any], key: str, endpoint: str) -> str:
    """Return a non-empty string field of `data`."""
    value = data.get(key)
    if not (isinstance(value, str) and value):
        raise ZaloTransportError(f"{endpoint} answered success without data.{key}")
    return value


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _send_result(body: dict[str, Any], response: requests.Response) -> SendResult:
    """Read a send answer; a success missing its id is still a success (no resend)."""
    data = body.get("data")
    data = data if isinstance(data, dict) else {}
    # The OA API calls it message_id, the business (ZNS) API msg_id.
    message_id = data.get("message_id") or data.get("msg_id")
    if not message_id:
        logger.warning("Zalo accepted a message but returned no message id")
    user_id = data.get("user_id")
    quota = data.get("quota")
    return SendResult(
        message_id=str(message_id or ""),
        user_id=str(user_id) if user_id else None,
        quota=quota if isinstance(quota, dict) else None,
        rate_limit_remaining=_header_int(response, "X-RateLimit-Remain"),
        rate_limit_limit=_header_int(response, "X-RateLimit-Limit"),
    )


def _header_int(response: requests.Response, name: str) -> int | None:
    """Read an integer response header, if present."""
    value = response.headers.get(name)
    return _to_int(value) if value is not None else None


def _oauth_error(code: int, body: dict[str, Any]) -> OAuthError:
    """Build the OAuthError for an error body of the token endpoint."""
    error_name = body.get("error_name")
    description = body.get("error_description") or body.get("error_reason")
    message = description or error_name or body.get("message") or "token endpoint refused"
    return OAuthError(
        str(message),
        code=code,
        error_name=str(error_name) if error_name else None,
        description=str(description) if description else None,
    )
