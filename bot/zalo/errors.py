"""Exceptions raised by the Zalo OA client.

ZaloError                      code, message, retryable
├── ZaloTransportError         timeout, connection error, non-JSON body (retryable)
├── ZaloServerError            HTTP 5xx (retryable, keeps `status`)
├── ZaloApiError               body `error` != 0 (permanent unless a subclass says otherwise)
│   ├── RateLimitedError       -32 (retryable)
│   ├── AttachmentExpiredError -100 (re-upload first)
│   ├── SendFailedError        -200 (retryable)
│   ├── InvalidParameterError  -201, -210 (our bug)
│   ├── OutOfQuotaError        -211
│   ├── NotFollowerError       -213
│   ├── TokenError             -216, -220 (compare-and-refresh, retry once)
│   ├── UserUnreachableError   -217, -227, -244 (give up for this user)
│   ├── OutsideWindowError     -230, -232 (switch to a template or hold)
│   └── NightTimeError         -234 (retryable after 06:00)
└── OAuthError                 token endpoint error (`error_name`, `description`)
"""

from __future__ import annotations


class ZaloError(Exception):
    """Base of every error coming from talking to Zalo."""

    retryable: bool = False

    def __init__(self, message: str, *, code: int | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return f"Zalo error {self.code}: {self.message}"


class ZaloTransportError(ZaloError):
    """The request did not get a usable answer (timeout, connection error, non-JSON body)."""

    retryable = True


class ZaloServerError(ZaloError):
    """Zalo answered with HTTP 5xx."""

    retryable = True

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    def __str__(self) -> str:
        return f"Zalo HTTP {self.status}: {self.message}"


class ZaloApiError(ZaloError):
    """Zalo answered with a non-zero `error` in the body."""

    code: int

    def __init__(self, code: int, message: str):
        super().__init__(message, code=code)


class RateLimitedError(ZaloApiError):
    """-32: the app exceeded its request rate."""

    retryable = True


class AttachmentExpiredError(ZaloApiError):
    """-100: the uploaded attachment id or token expired; upload again."""


class SendFailedError(ZaloApiError):
    """-200: Zalo failed to send the message."""

    retryable = True


class InvalidParameterError(ZaloApiError):
    """-201, -210: a parameter is invalid or over its limit."""


class OutOfQuotaError(ZaloApiError):
    """-211: the OA is out of message quota."""


class NotFollowerError(ZaloApiError):
    """-213: the user does not follow the OA."""


class TokenError(ZaloApiError):
    """-216, -220: the access token is invalid or expired."""


class UserUnreachableError(ZaloApiError):
    """-217, -227, -244: the user blocked the OA, is inactive or refuses this message type."""


class OutsideWindowError(ZaloApiError):
    """-230, -232: no interaction from the user in the last 7 days."""


class NightTimeError(ZaloApiError):
    """-234: this message type cannot be sent between 22:00 and 06:00."""

    retryable = True


class OAuthError(ZaloError):
    """The OAuth token endpoint refused a code or refresh token."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        error_name: str | None = None,
        description: str | None = None,
    ):
        super().__init__(message, code=code)
        self.error_name = error_name
        self.description = description


_ERROR_CLASSES: dict[int, type[ZaloApiError]] = {
    -32: RateLimitedError,
    -100: AttachmentExpiredError,
    -200: SendFailedError,
    -201: InvalidParameterError,
    -210: InvalidParameterError,
    -211: OutOfQuotaError,
    -213: NotFollowerError,
    -216: TokenError,
    -220: TokenError,
    -217: UserUnreachableError,
    -227: UserUnreachableError,
    -244: UserUnreachableError,
    -230: OutsideWindowError,
    -232: OutsideWindowError,
    -234: NightTimeError,
}


def error_for_code(code: int, message: str) -> ZaloApiError:
    """Build the exception matching a Zalo API error code."""
    return _ERROR_CLASSES.get(code, ZaloApiError)(code, message)
