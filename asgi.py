"""The web app `./ftlab app` serves: Streamlit running app.py (through web/entry.py, which says why),
with the browser-id cookie set by the server (ui/browser_cookie.py says why). serve.py runs
`streamlit run asgi.py`; Streamlit finds `app` here (an st.App) and serves it with its own server
and settings.
"""

from starlette.middleware import Middleware
from streamlit.starlette import App

from ui.browser_cookie import BrowserCookie

app = App("web/entry.py", middleware=[Middleware(BrowserCookie)])
