"""The Lab's live charts in a real browser: drawn in place, not rebuilt (issue 13, the default run).

st.plotly_chart hashes the figure into the element's id, so each tick's new figure was a new chart
that the browser built from nothing; on a 2-core machine that took CPU from the training beside it.
The live view's charts (ui/live_chart.py) stay mounted and Plotly.react updates them: here the
same plot element must survive ticks while its curves grow.
"""
import re

import pytest
from playwright.sync_api import expect

from core.models.backbones import group_names
from tests.e2e.helpers import assert_no_exception, click_button, open_page

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 150_000
# Every layer, 500 images, 30 epochs: minutes on a CPU, so the run is still training when Stop is
# pressed, after the reloads and the waits below (with 200 images, one run of this file missed its
# Stop message once).
LONG_RUN = "epochs=30&size=32&batch=8&per_class=50"
POINTS = "el => (el.data || []).filter(t => t.name === 'validation loss').map(t => t.y.length)[0] || 0"


def test_live_charts_are_updated_in_place_while_the_run_trains(page, app_url):
    groups = ",".join(group_names("mobilenet_v2"))
    open_page(page, f"/lab?{LONG_RUN}&train={groups}", "Start training")
    click_button(page, "lab_start")
    loss = page.get_by_role("img", name=re.compile(r"^Loss, Epoch \d+ of 30"))
    expect(loss).to_be_visible(timeout=RUN_TIMEOUT_MS)
    # the server copies plotly.js into app/static when it first draws a live chart (so not before, on a
    # fresh checkout whose first test this is)
    plotly_js = page.request.get(f"{app_url}/app/static/plotly.min.js")
    assert plotly_js.ok and "plotly.js v" in plotly_js.text()[:200], plotly_js.status
    for title in ("Loss", "Accuracy", "Trainable parameters", "Weight change"):
        expect(page.locator(".ftlab-live-chart .gtitle", has_text=re.compile(rf"^{title}"))).to_have_count(1)

    plot = page.locator(".ftlab-live-chart").filter(has=page.locator(".gtitle", has_text=re.compile("^Loss")))
    plot.evaluate("el => { el.__ftlabSame = true; }")
    before = plot.evaluate(POINTS)
    # A later epoch reaches the same element: it was updated, not replaced by a new chart.
    plot.evaluate(f"(el, n) => new Promise(ok => {{ const t = setInterval(() => {{ if (({POINTS})(el) > n) "
                  "{ clearInterval(t); ok(); } }, 100); })", before)
    assert plot.evaluate("el => el.__ftlabSame === true and el.isConnected".replace(" and ", " && "))
    assert plot.evaluate(POINTS) > before
    expect(plot.locator(".scatterlayer .trace").first).to_be_attached()

    click_button(page, "lab_stop")
    expect(page.get_by_text("Stopped by request").first).to_be_visible(timeout=30_000)
    expect(page.locator(".ftlab-live-chart")).to_have_count(0)
    assert_no_exception(page)


def test_after_a_reload_the_live_charts_fetch_plotly_and_say_so_when_they_cannot(page):
    # A reload during a run draws the live view first: no chart of Streamlit's own has brought
    # plotly.js to the page (it sets window.Plotly), so the live charts fetch the app's copy; when
    # that fails, each says so and the run goes on.
    groups = ",".join(group_names("mobilenet_v2"))
    open_page(page, f"/lab?{LONG_RUN}&train={groups}", "Start training")
    click_button(page, "lab_start")
    expect(page.get_by_text(re.compile(r"epoch \d+/30"))).to_be_visible(timeout=RUN_TIMEOUT_MS)
    with page.expect_response("**/app/static/plotly.min.js") as fetched:
        page.reload()
    assert fetched.value.ok
    expect(page.locator(".ftlab-live-chart .main-svg").first).to_be_visible(timeout=RUN_TIMEOUT_MS)

    page.route("**/app/static/plotly.min.js", lambda route: route.fulfill(status=404, body="gone"))
    page.reload()
    message = page.get_by_text(re.compile(r"This chart could not be drawn \(HTTP 404"))
    expect(message.first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"^Chart summary: Loss")).first).to_be_visible()  # the numbers stay
    expect(page.get_by_text(re.compile(r"epoch \d+/30"))).to_be_visible()
    click_button(page, "lab_stop")
    expect(page.get_by_text("Stopped by request").first).to_be_visible(timeout=30_000)
    assert_no_exception(page)
