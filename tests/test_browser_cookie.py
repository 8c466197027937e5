"""The browser-id cookie, set by the server (ui/browser_cookie.py) so page scripts cannot read it,
and the one place the app wraps Streamlit's server (asgi.py). If a Streamlit upgrade changes how
`streamlit run` finds an st.App or how middleware is given, these tests say so by name.

The middleware is driven here as plain ASGI (scope, receive, send); tests/e2e/test_identity.py
checks the same cookie in a real browser against the real server."""
import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core.classroom.identity import new_browser_id, valid_browser_id
from ui import browser_cookie as bc

ROOT = Path(__file__).resolve().parents[1]


def serve(path: str = "/", headers: dict | None = None, content_type: str = "text/html", scheme: str = "http",
          kind: str = "http") -> list[str]:
    """The Set-Cookie headers the middleware adds to one response of a tiny inner app."""
    sent = []

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type.encode())]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    scope = {"type": kind, "path": path, "scheme": scheme,
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    # In a thread of its own: in the whole suite the browser tests' Playwright (sync API) keeps an event
    # loop running in this thread, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, bc.BrowserCookie(inner)(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    return [v.decode() for k, v in start["headers"] if k == b"set-cookie"]


def cookie_value(header: str) -> str:
    return header.split(";")[0].split("=", 1)[1]


def test_a_first_visit_gets_a_fresh_httponly_strict_id():
    (header,) = serve("/quiz")
    assert header.startswith("ftlab_browser=") and valid_browser_id(cookie_value(header))
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", f"Max-Age={bc.MAX_AGE_S}"):
        assert flag in header
    assert "Secure" not in header  # plain http: a Secure cookie would not be kept


def test_a_known_browser_keeps_its_id_and_the_cookie_becomes_httponly():
    mine = new_browser_id()  # e.g. written by the app's old page script, readable by scripts
    (header,) = serve("/", headers={"Cookie": f"other=1; ftlab_browser={mine}"})
    assert cookie_value(header) == mine and "HttpOnly" in header


def test_a_malformed_id_is_replaced():
    (header,) = serve("/", headers={"Cookie": "ftlab_browser=<script>"})
    assert valid_browser_id(cookie_value(header))


def test_only_pages_carry_the_cookie_not_scripts_or_websockets():
    assert serve("/static/js/main.js", content_type="application/javascript") == []
    assert serve("/_stcore/health", content_type="text/plain; charset=utf-8") == []


def test_behind_tls_the_id_moves_to_a_secure_host_only_cookie():
    mine = new_browser_id()
    headers = {"Cookie": f"ftlab_browser={mine}", "X-Forwarded-Proto": "https"}
    host, old = sorted(serve("/", headers=headers), key=lambda h: not h.startswith("__Host-"))
    assert host.startswith("__Host-ftlab_browser=") and cookie_value(host) == mine
    assert "Secure" in host and "HttpOnly" in host and "Domain" not in host
    assert old.startswith("ftlab_browser=;") and "Max-Age=0" in old  # the plain one is dropped
    assert serve("/", scheme="https")[0].startswith("__Host-ftlab_browser=")


def test_the_id_is_read_preferring_the_host_only_cookie():
    a, b = new_browser_id(), new_browser_id()
    assert bc.browser_id_from({"ftlab_browser": a, "__Host-ftlab_browser": b}) == b
    assert bc.browser_id_from({"ftlab_browser": a}) == a
    assert bc.browser_id_from({"ftlab_browser": "bad"}) is None


def test_streamlit_run_finds_the_app_with_the_cookie_middleware():
    """`./ftlab app` runs `streamlit run asgi.py`: Streamlit must still discover the st.App there
    (streamlit.web.server.app_discovery), and the App must still take Starlette middleware."""
    from streamlit.starlette import App
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "asgi.py")
    assert found.is_asgi_app and found.app_name == "app", found
    import asgi

    assert isinstance(asgi.app, App)
    assert [m.cls for m in asgi.app._user_middleware] == [bc.BrowserCookie]
