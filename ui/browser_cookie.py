"""The browser id cookie, set by the server with HttpOnly so no page script can read it.

Why the server: a cookie written by JavaScript is readable by JavaScript, and cookies are shared by
every port of a host, so any other app on the same machine (a notebook on :8888, a student's page on
:8000) could read a learner's id and become them. Streamlit can read cookies but not set them, so
this small ASGI middleware (mounted by asgi.py through st.App's supported `middleware` hook) adds
the cookie to every page's HTML response: the websocket that follows carries it, and
st.context.cookies has it in the first script run. Behind TLS (the request came over https, or a
proxy says X-Forwarded-Proto: https) it is `__Host-ftlab_browser`: Secure, never sent in clear, and
bound to this exact host, so another subdomain cannot plant one. Browsers still send it to every
port of the host, so another app's *server* there would receive it: the README's "shared host".
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from core.classroom.identity import new_browser_id, valid_browser_id

__all__ = ["BrowserCookie", "COOKIE", "HOST_COOKIE", "MAX_AGE_S", "browser_id_from"]

COOKIE = "ftlab_browser"
HOST_COOKIE = "__Host-" + COOKIE  # the name behind TLS (browsers require Secure, Path=/, no Domain)
MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime Chromium accepts; refreshed on each page load


def browser_id_from(cookies) -> str | None:
    """The valid browser id in a name -> value mapping of cookies, the host-only one first."""
    for name in (HOST_COOKIE, COOKIE):
        value = cookies.get(name)
        if valid_browser_id(value):
            return value
    return None


def _request_cookies(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    jar = SimpleCookie()
    for key, value in headers:
        if key == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed Cookie header counts as no cookie
                continue
    return {name: morsel.value for name, morsel in jar.items()}


def _over_tls(scope) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    proto = dict(scope.get("headers") or ()).get(b"x-forwarded-proto", b"")
    return proto.split(b",")[0].strip().lower() == b"https"


def _set_cookie_headers(browser: str, tls: bool) -> list[tuple[bytes, bytes]]:
    common = f"Path=/; Max-Age={MAX_AGE_S}; HttpOnly; SameSite=Strict"
    if not tls:
        return [(b"set-cookie", f"{COOKIE}={browser}; {common}".encode())]
    return [
        (b"set-cookie", f"{HOST_COOKIE}={browser}; {common}; Secure".encode()),
        # the plain one, from an http visit or an older version of the app, is dropped
        (b"set-cookie", f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict".encode()),
    ]


class BrowserCookie:
    """ASGI middleware: each HTML response carries this browser's id (its own, or a new one)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        browser = browser_id_from(_request_cookies(scope.get("headers") or [])) or new_browser_id()
        extra = _set_cookie_headers(browser, _over_tls(scope))

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
