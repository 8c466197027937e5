"""A learner's browser tab, simulated over Streamlit's own websocket protocol, for the load tests.

Why not a real browser per learner: 30 Chromium tabs need about 6 GB and both cores of this machine
by themselves, so the clients would measure their own slowness. This client costs about 2 MB a
session and still makes the server do exactly what a tab makes it do. It speaks what the frontend
speaks (BackMsg/ForwardMsg protobufs on `/_stcore/stream`):

- it sends the browser-id cookie with the handshake (ui/common.py reads it), so a learner is one
  stable browser across its page runs;
- it asks for pages by URL path and answers widgets by their ids and values (forms included);
- it keeps the frontend's timers: each `auto_rerun` message (an `st.fragment(run_every=...)`) starts a
  timer that asks for that fragment again every interval, as `setInterval` does in the tab, until a
  full run starts or `stop_auto_rerun` ends it. So the Lab's live panel is driven as in a tab, and
  the time between two chart redraws that reach the client is the update interval a learner sees;
- it follows runs the server starts by itself (`st.rerun()` from a fragment when a job ends).

What is not simulated: rendering and JavaScript (a page time is request to `script_finished`).
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

BROWSER_COOKIE = "ftlab_browser"  # ui/browser_cookie.py COOKIE
CHART_TYPES = ("plotly_chart",)


def is_chart(etype: str, el) -> bool:
    """A chart drawn: a Plotly chart, or a live chart sent a figure (not an empty one)."""
    if etype in CHART_TYPES:
        return True
    from ui.live_chart import COMPONENT_NAME  # the live view's charts, redrawn in place

    if etype != "bidi_component" or el.bidi_component.component_name != COMPONENT_NAME:
        return False
    return bool(json.loads(el.bidi_component.json or "{}").get("figure"))


@dataclass
class RunView:
    """What one full script run put on the page, and how long it took."""
    page: str
    seconds: float = 0.0
    status: int = -1
    widgets: list = field(default_factory=list)  # (kind, proto)
    alerts: list = field(default_factory=list)  # (format name, body)
    progress: list = field(default_factory=list)  # progress-bar texts
    metrics: dict = field(default_factory=dict)  # label -> value
    markdown: list = field(default_factory=list)
    exceptions: list = field(default_factory=list)
    server_started: bool = False  # a rerun the server began by itself (st.rerun in a fragment)

    def widget(self, kind: str, label_start: str):
        for k, proto in self.widgets:
            if k == kind and proto.label.startswith(label_start):
                return proto
        return None


@dataclass
class FragmentTick:
    """One fragment run as the client saw it end: when, and what it drew."""
    at: float
    charts: int
    progress: list
    alerts: list


class Tab:
    """One browser tab on one server. Use `async with Tab(...)`, then `await tab.run(page, ...)`."""

    def __init__(self, url: str, browser_id: str, on_view=None):
        self.url = url.rstrip("/").replace("http://", "ws://") + "/_stcore/stream"
        self.browser_id = browser_id
        self.on_view = on_view  # called with each finished full run (RunView)
        self.ws = None
        self.page_hash = ""
        self.page_name = ""
        self.query = ""
        self.fragment_ticks: list[FragmentTick] = []
        self.fragment_errors: list[str] = []
        self._timers: dict[str, asyncio.Task] = {}
        self._reader: asyncio.Task | None = None
        self._full: RunView | None = None  # the full run being received
        self._frag = FragmentTick(0.0, 0, [], [])
        self._run_is_fragment = False
        self._finished: asyncio.Queue = asyncio.Queue()  # finished full runs, in order
        self._sent_at: float | None = None
        self.closed_reason = ""

    async def __aenter__(self):
        import websockets

        self.ws = await asyncio.wait_for(websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=None, open_timeout=60, ping_interval=None,
            additional_headers={"Cookie": f"{BROWSER_COOKIE}={self.browser_id}"}), 90)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc):
        for t in list(self._timers.values()):
            t.cancel()
        if self._reader:
            self._reader.cancel()
        await self.ws.close()

    # ---- requests ------------------------------------------------------------------------------

    def _back_msg(self, page: str | None, query: str, widgets, fragment_id: str = ""):
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        msg = BackMsg()
        rr = msg.rerun_script
        rr.query_string = query
        if page is None:  # a fragment tick: the page the tab is on
            rr.page_script_hash = self.page_hash
            rr.page_name = self.page_name
        else:
            rr.page_name = page
        if fragment_id:
            rr.fragment_id = fragment_id
            rr.is_auto_rerun = True
        for kind, wid, value in widgets or []:
            w = WidgetState(id=wid)
            setattr(w, kind, value)
            rr.widget_states.widgets.append(w)
        return msg.SerializeToString()

    async def run(self, page: str, query: str = "", widgets: list | None = None, timeout: float = 240) -> RunView:
        """Ask for a full run of `page` with these widget values; return it when it has finished."""
        self._drain()
        self.page_name, self.query = page, query
        self._sent_at = time.perf_counter()
        await self.ws.send(self._back_msg(page, query, widgets))
        return await self.next_full_run(timeout)

    async def next_full_run(self, timeout: float) -> RunView:
        """The next full run to finish, whoever started it (the client, or the server itself)."""
        return await asyncio.wait_for(self._finished.get(), timeout)

    def _drain(self) -> None:
        while not self._finished.empty():
            self._finished.get_nowait()

    async def _tick(self, fragment_id: str, interval: float) -> None:
        # The frontend's setInterval: it does not wait for the previous tick's run to end.
        try:
            while True:
                await asyncio.sleep(interval)
                await self.ws.send(self._back_msg(None, self.query, [], fragment_id))
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the socket closed: the tab is gone
            self.closed_reason = f"{type(exc).__name__}: {exc}"

    def _stop_timers(self, ids=None) -> None:
        for fid in list(self._timers) if ids is None else ids:
            task = self._timers.pop(fid, None)
            if task:
                task.cancel()

    # ---- what the server sends -----------------------------------------------------------------

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for raw in self.ws:
                fm = ForwardMsg()
                fm.ParseFromString(raw)
                self._handle(fm)
        except Exception as exc:
            self.closed_reason = f"{type(exc).__name__}: {exc}"
            self._finished.put_nowait(RunView(self.page_name or "home", status=-2,
                                              exceptions=[f"connection closed: {exc}"]))

    def _handle(self, fm) -> None:
        kind = fm.WhichOneof("type")
        if kind == "new_session":
            self._start_run(fm)
        elif kind == "delta":
            self._delta(fm.delta)
        elif kind == "auto_rerun":
            fid = fm.auto_rerun.fragment_id
            if fid not in self._timers:
                self._timers[fid] = asyncio.create_task(self._tick(fid, fm.auto_rerun.interval))
        elif kind == "navigation" and fm.navigation.page_script_hash:
            # The page st.navigation chose. new_session names the main script's hash when a run was
            # asked for by page name; a fragment tick sent with that hash would, on st.rerun() from
            # the fragment, rerun the home page instead of this one (the real frontend tracks the
            # page from this message too).
            self.page_hash = fm.navigation.page_script_hash
        elif kind == "stop_auto_rerun":
            self._stop_timers(list(fm.stop_auto_rerun.fragment_ids))
        elif kind == "script_finished":
            self._script_finished(fm.script_finished)

    def _start_run(self, fm) -> None:
        fragments = list(fm.metadata.run.fragment_ids) if fm.HasField("metadata") else []
        self._run_is_fragment = bool(fragments)
        if fm.new_session.page_script_hash:
            self.page_hash = fm.new_session.page_script_hash
        if self._run_is_fragment:
            self._frag = FragmentTick(0.0, 0, [], [])
            return
        # A full run: the frontend drops its fragment timers; the run registers them again.
        self._stop_timers()
        server_started = self._sent_at is None
        self._full = RunView(self.page_name or "home", server_started=server_started)
        if server_started:
            self._sent_at = time.perf_counter()

    def _delta(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        etype = el.WhichOneof("type")
        if self._run_is_fragment or delta.fragment_id:
            self._fragment_element(etype, el)
            return
        view = self._full
        if view is None:
            return
        if etype == "exception":
            view.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        elif etype == "alert":
            view.alerts.append((el.alert.Format.Name(el.alert.format), el.alert.body))
        elif etype == "progress":
            view.progress.append(el.progress.text)
        elif etype == "metric":
            view.metrics[el.metric.label] = el.metric.body
        elif etype == "markdown":
            view.markdown.append(el.markdown.body)
        elif etype in ("radio", "button", "text_input"):
            view.widgets.append((etype, getattr(el, etype)))

    def _fragment_element(self, etype: str, el) -> None:
        if is_chart(etype, el):
            self._frag.charts += 1
        elif etype == "progress":
            self._frag.progress.append(el.progress.text)
        elif etype == "alert":
            self._frag.alerts.append((el.alert.Format.Name(el.alert.format), el.alert.body))
        elif etype == "exception":
            self.fragment_errors.append(f"{el.exception.type}: {el.exception.message}")

    def _script_finished(self, status: int) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY or (
                self._run_is_fragment and status == ForwardMsg.FINISHED_EARLY_FOR_RERUN):
            self._frag.at = time.perf_counter()
            self.fragment_ticks.append(self._frag)
            self._frag = FragmentTick(0.0, 0, [], [])
            return
        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN or self._full is None:
            return  # the server goes straight on with the next run (st.rerun): keep the clock
        view, self._full = self._full, None
        view.status = status
        view.seconds = time.perf_counter() - (self._sent_at or time.perf_counter())
        self._sent_at = None
        if self.on_view:
            self.on_view(view)
        self._finished.put_nowait(view)
