"""Charts that a running job redraws in place: the Lab's live view.

Why not st.plotly_chart: its element id hashes the figure, so every new figure is a new element and
the browser builds the chart from nothing (a fresh Plotly plot, then a second pass once its width is
known). The live view sends four new figures a second: in bench/default_run.py that rebuilding took
3-4 CPU s of Chromium per 5 s run, the training worker beside it slowed down, and the default run
took 1.46x the engine's own time (issue 13 asks for at most 1.3x).

Here a small st.components.v2 script (in the page, no iframe) is keyed by chart, so it stays mounted,
and it hands each new figure to ``Plotly.react`` on the same plot: Plotly redraws only what changed.
plotly.js: once a Streamlit chart has been drawn on the page (the Lab's setup has one), its bundle
has set ``window.Plotly`` and the script uses it. Otherwise (a reload during a run draws the live
view first) it loads the copy that ships with the Plotly Python package, served by the app's static
file serving (.streamlit/config.toml).
Where the copy cannot be written (a read-only install), the live view falls back to
st.plotly_chart: slower, same charts. Where it cannot be fetched, each chart says so in its place.

The end-of-run charts stay st.plotly_chart (drawn once, with Streamlit's full-screen button).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from pathlib import Path

import plotly
import plotly.io as pio
import streamlit as st

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"  # beside the entry script: served at app/static/
PLOTLY_FILE = "plotly.min.js"
PACKAGED_PLOTLY = Path(plotly.__file__).parent / "package_data" / PLOTLY_FILE
COMPONENT_NAME = "ftlab_live_chart"  # bench/browser_session.py counts its redraws by this name

# Loads plotly.js once per page. Streamlit serves a .js file from app/static as text/plain with
# nosniff (a <script src> to it is refused), so it is fetched as text and run from a Blob URL.
_JS = """
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__ftlabPlotly) {
    const url = new URL("app/static/%(file)s", document.baseURI);
    window.__ftlabPlotly = fetch(url)
      .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status} for ${url.pathname}`); return r.text(); })
      .then((src) => new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
        script.onload = () => resolve(window.Plotly);
        script.onerror = () => reject(new Error("plotly.js did not run"));
        document.head.appendChild(script);
      }));
    window.__ftlabPlotly.catch(() => { window.__ftlabPlotly = null; });  // the next tick tries again
  }
  return window.__ftlabPlotly;
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data || !data.figure) return;
  let plot = parentElement.querySelector(".ftlab-live-chart");
  if (!plot) {
    plot = document.createElement("div");
    plot.className = "ftlab-live-chart";
    plot.setAttribute("role", "img");
    parentElement.appendChild(plot);
  }
  plot.setAttribute("aria-label", data.alt);
  // Most charts change once per epoch, not once per tick: an unchanged figure costs nothing.
  if (plot.__ftlabFigure === data.figure) return;
  plot.__ftlabFigure = data.figure;
  const figure = JSON.parse(data.figure);
  // The page's own font and text colour, and bold titles, as st.plotly_chart's theme draws the
  // end-of-run charts: the chart keeps its look when the run ends.
  const page = getComputedStyle(document.body);
  figure.layout.font = Object.assign({ family: page.fontFamily, color: page.color }, figure.layout.font);
  if (figure.layout.title) figure.layout.title.font = Object.assign({ weight: 600 }, figure.layout.title.font);
  loadPlotly()
    .then((Plotly) => {
      if (plot.__ftlabFailed) { plot.textContent = ""; plot.__ftlabFailed = false; }
      return Plotly.react(plot, figure.data, figure.layout, { displayModeBar: false, responsive: true });
    })
    .catch((err) => {
      if (window.Plotly) window.Plotly.purge(plot);
      plot.__ftlabFigure = null;  // the next tick tries again
      plot.__ftlabFailed = true;
      plot.textContent = `This chart could not be drawn (${err.message}). Its numbers are in the summary ` +
        "below, and the full charts appear when the run ends.";
    });
}
""" % {"file": PLOTLY_FILE}


@functools.cache
def served() -> bool:
    """Whether plotly.js is in the app's static folder (copied there once per server process, and
    again when the installed Plotly changed). False where it cannot be written: the live view then
    uses st.plotly_chart."""
    target = STATIC_DIR / PLOTLY_FILE
    try:
        if not target.is_file() or target.stat().st_size != PACKAGED_PLOTLY.stat().st_size:
            STATIC_DIR.mkdir(exist_ok=True)
            # Each process writes its own partial file, then renames it into place (atomic): two servers
            # starting together never write into one file, and neither serves half a copy.
            partial = target.with_name(f"{PLOTLY_FILE}.{os.getpid()}.part")
            shutil.copyfile(PACKAGED_PLOTLY, partial)
            partial.replace(target)
        return True
    except OSError as exc:
        log.warning("live charts fall back to st.plotly_chart: cannot serve %s (%s)", target, exc)
        return False


def _component():
    # Registered on every call, as ui/common.py does: the same definition again is no change.
    return st.components.v2.component(COMPONENT_NAME, js=_JS, isolate_styles=False)


def live_chart(fig, summary: str, key: str) -> bool:
    """Draw `fig` in place of the chart under `key` (its text alternative `summary` is the plot's
    accessible name). False where plotly.js cannot be served: the caller draws it another way."""
    if not served():
        return False
    _component()(data={"figure": pio.to_json(fig, validate=False), "alt": summary}, key=key)
    return True
