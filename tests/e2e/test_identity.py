"""Identity in a real browser: a browser keeps who it is across a reload (its cookie), a nickname
belongs to the browser that took it, and another browser can neither take it nor see its answers."""
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import click_button, key, open_page, shot, wait_idle

pytestmark = pytest.mark.browser


def sidebar(page: Page):
    return page.locator('[data-testid="stSidebar"]')


def take_nickname(page: Page, name: str) -> None:
    key(page, "identity_name").locator("input").fill(name)
    sidebar(page).get_by_role("button", name=re.compile("Keep my answers under this name|Rename")).click()
    wait_idle(page)


def expect_known(page: Page, count: int) -> None:
    """Open the flashcards and wait until they say `count` cards are known."""
    open_page(page, "/flashcards", "Known:")
    expect(page.locator('[data-testid="stMain"]')).to_contain_text(f"Known: {count} of")


def mark_first_card_known(page: Page) -> None:
    open_page(page, "/flashcards", "Known:")
    click_button(page, "card_flip")
    wait_idle(page)
    click_button(page, "card_known")
    wait_idle(page)


@pytest.fixture
def second_browser(browser, app_url):
    """Another browser (its own cookies), as a classmate on another machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def test_an_unnamed_browser_keeps_its_answers_across_a_reload_and_is_told_so(page, second_browser):
    open_page(page, "/flashcards", "Known:")
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("kept for this browser only")
    expect(sidebar(page)).to_contain_text("Not saved under a name")
    mark_first_card_known(page)
    expect_known(page, 1)
    page.reload()
    expect_known(page, 1)  # same browser after a reload: same anonymous progress
    expect_known(second_browser, 0)  # no shared "guest": another browser starts empty


def test_a_nickname_survives_a_reload_and_cannot_be_taken_by_another_browser(page, second_browser):
    name = f"ada-{uuid.uuid4().hex[:6]}"
    open_page(page, "/")
    take_nickname(page, name)
    expect(sidebar(page)).to_contain_text(f"now kept under “{name}”")
    expect(sidebar(page).locator('[data-testid="stCode"]')).to_contain_text(re.compile(r"\w{4}-\w{4}-\w{4}"))
    shot(page, "identity-nickname-taken")
    mark_first_card_known(page)

    page.reload()
    wait_idle(page)
    expect(sidebar(page)).to_contain_text(f"{name} · your answers are saved under this name")
    expect_known(page, 1)
    open_page(page, "/progress")
    expect(page.locator('[data-testid="stMain"]')).to_contain_text(f"Progress saved for {name}")

    other = second_browser
    open_page(other, "/")
    take_nickname(other, name.upper())
    expect(sidebar(other)).to_contain_text("is taken by another browser")
    expect(sidebar(other)).to_contain_text("Not saved under a name")
    shot(other, "identity-nickname-refused")
    open_page(other, "/progress")
    expect(other.locator('[data-testid="stMain"]')).to_contain_text("No progress yet for this browser")
    expect_known(other, 0)


def test_a_recovery_code_moves_the_nickname_to_another_browser_once(page, second_browser):
    name = f"bo-{uuid.uuid4().hex[:6]}"
    open_page(page, "/")
    take_nickname(page, name)
    code_box = sidebar(page).locator('[data-testid="stCode"]')
    expect(code_box).to_contain_text(re.compile(r"\w{4}-\w{4}-\w{4}"))
    code = code_box.inner_text().strip()
    mark_first_card_known(page)

    phone = second_browser
    open_page(phone, "/")
    sidebar(phone).get_by_text("Move my nickname here").click()
    key(phone, "identity_recover_name").locator("input").fill(name)
    key(phone, "identity_recover_code").locator("input").fill(code.lower())
    sidebar(phone).get_by_role("button", name="Move it to this browser").click()
    wait_idle(phone)
    expect(sidebar(phone)).to_contain_text(f"“{name}” is now on this browser")
    phone.reload()
    wait_idle(phone)
    expect(sidebar(phone)).to_contain_text(f"{name} · your answers are saved under this name")
    expect_known(phone, 1)  # the answers came along

    page.reload()  # the first browser no longer holds the name, nor sees its answers
    wait_idle(page)
    expect(sidebar(page)).to_contain_text("Not saved under a name")
    expect_known(page, 0)


def test_the_browser_id_is_an_httponly_cookie_that_page_scripts_cannot_read(page):
    """Another app on the same host (another port) runs scripts in the same cookie jar: the id must
    be out of their reach (HttpOnly, set by the server) and still keep the browser who it is."""
    open_page(page, "/flashcards", "Known:")
    jar = {c["name"]: c for c in page.context.cookies()}  # set by the page's own HTTP response
    assert "ftlab_browser" in jar, sorted(jar)
    cookie = jar["ftlab_browser"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    page.wait_for_function("() => document.readyState === 'complete'")
    assert cookie["value"] not in page.evaluate("document.cookie")  # HttpOnly: never in the script's view
    mark_first_card_known(page)
    page.reload()
    expect_known(page, 1)  # the id survived the reload: the same anonymous progress
    assert {c["name"]: c["value"] for c in page.context.cookies()}["ftlab_browser"] == cookie["value"]


def test_behind_tls_the_cookie_is_secure_with_the_host_prefix(app_url):
    """Behind a TLS proxy (X-Forwarded-Proto: https) the id goes in a __Host- cookie: Secure, so it is
    never sent in clear, and bound to this host, so another subdomain cannot set it."""
    import urllib.request

    request = urllib.request.Request(f"{app_url}/quiz", headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        cookies = answer.headers.get_all("Set-Cookie")
    host = next(c for c in cookies if c.startswith("__Host-ftlab_browser="))
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag.lower() in host.lower(), host
    assert "domain=" not in host.lower()
