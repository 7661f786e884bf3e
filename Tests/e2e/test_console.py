"""The browser console (served at GET /) driven in real headless Chromium through Selenium.

People's view of Liaison: an HCP and an MSL sign in (one with the dev form of `serve --dev`, one
by pasting a token), find each other under "Find people", see each other's presence, chat both
ways (typing, read receipts); the MSL asks an expert, one FMD claims while a second FMD's Claim
button turns to "taken"; then the HCP video-calls the MSL (ringing on both of the MSL's windows):
both RTCPeerConnections report `connected` with inbound video frames increasing, and they hang up.
A first-time user finds a colleague by part of their name, chats and calls from the people panel,
and sees names, never ids; a refused token says why; a normal load logs no errors.
Meetings: an MSL schedules a meeting with an FMD (whose browser is in another time zone) from the
Schedule form, the FMD accepts from the invite card and the MSL's card shows it; notes, the
calendar feed, a reschedule that brings the reminder banner, the meeting's call from "Join call"
(the meeting turns in progress, then held) and a call note; an HCP invitee answers but sees no
note controls. Files: an MSL attaches a picture and a text file, and the HCP's browser shows the
thumbnail and a download link.

Controls are found as a person finds them: by their visible label or button text.
Screenshots of the main views go to $LIAISON_SCREENSHOTS when set (refresh the README's pictures
with LIAISON_SCREENSHOTS=docs/screenshots), else to a scratch folder. Loopback only; every wait is
bounded.
Needs the Debian packages `chromium` and `chromium-driver`, and selenium (requirements.txt).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from liaison_helpers import REPO_ROOT, http_get, now_ms, token

selenium = pytest.importorskip("selenium", reason="selenium is in Tests/e2e/requirements.txt")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = pytest.mark.timeout(300)

SHOTS = Path(os.environ.get("LIAISON_SCREENSHOTS") or tempfile.mkdtemp(prefix="liaison-screenshots-"))
if not SHOTS.is_absolute():
    SHOTS = REPO_ROOT / SHOTS
TENANT = "clinic"
WAIT = 15  # seconds, for anything a person would wait for
WINDOW = (1280, 900)


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not browser or not driver:
        pytest.fail("the console test needs Chromium and its driver: apt-get install chromium chromium-driver")
    return browser, driver


class Page:
    """One browser window, used through visible labels and button texts."""

    def __init__(self, driver: webdriver.Chrome, name: str, profile: str):
        self.d = driver
        self.name = name
        self.profile = profile

    # ---- finding things as a person would

    def wait(self, cond, what: str, timeout: float = WAIT):
        def check(_):
            try:
                return cond()
            except (StaleElementReferenceException,):
                return False

        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(check)
        except Exception as e:  # TimeoutException, with what we waited for
            raise AssertionError(f"[{self.name}] timed out after {timeout}s waiting for: {what}") from e

    def visible(self, xpath: str, root=None):
        return [e for e in (root or self.d).find_elements(By.XPATH, xpath) if e.is_displayed()]

    def field(self, label: str):
        """The control a visible <label> with exactly this text labels."""

        def find():
            for lab in self.visible(f"//label[normalize-space()={_xq(label)}]"):
                target = lab.get_attribute("for")
                if target:
                    el = self.d.find_element(By.ID, target)
                    if el.is_displayed():
                        return el
            return None

        return self.wait(find, f"a visible field labelled {label!r}")

    def button(self, text: str, root=None, timeout: float = WAIT):
        return self.wait(lambda: (self.visible(f".//button[normalize-space()={_xq(text)}]", root) or [None])[0],
                         f"a visible button {text!r}", timeout)

    def click(self, text: str, root=None):
        """Clicks an enabled button; `root` may be a function finding the container anew."""

        def press():  # found and clicked in one go: a list may re-render in between
            within = root() if callable(root) else root
            b = next((b for b in self.visible(f".//button[normalize-space()={_xq(text)}]", within) if b.is_enabled()), None)
            if b:
                b.click()
            return b is not None

        self.wait(press, f"an enabled button {text!r}")

    def type_into(self, label: str, text: str, clear: bool = True):
        el = self.field(label)
        if clear:
            el.clear()
        el.send_keys(text)
        return el

    def set_value(self, label: str, value: str):
        """Sets a field a keyboard cannot type into portably (a datetime-local field's segments depend
        on the browser's locale), with the input and change events typing would fire."""
        el = self.field(label)
        self.js("""const el = arguments[0]; el.value = arguments[1];
                   el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true}));""",
                el, value)
        assert el.get_attribute("value") == value or self.js("return arguments[0].value", el) == value
        return el

    def select(self, label: str, visible_text_start: str):
        sel = Select(self.field(label))
        for o in sel.options:
            if o.text.startswith(visible_text_start):
                sel.select_by_visible_text(o.text)
                return
        raise AssertionError(f"[{self.name}] no option {visible_text_start!r} in {label!r}")

    def text(self, css: str) -> str:
        els = self.d.find_elements(By.CSS_SELECTOR, css)
        return els[0].text if els else ""

    def js(self, script: str, *args):
        return self.d.execute_script(script, *args)

    def js_async(self, script: str, *args):
        return self.d.execute_async_script(script, *args)

    def shot(self, name: str, at=None):
        """Saves a screenshot of the window, scrolled to the top (or so that element `at` is at the top)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.d.execute_script("window.scrollTo(0, 0)")
        if at is not None:
            self.d.execute_script("arguments[0].scrollIntoView({block: 'start'})", at)
        self.d.save_screenshot(str(SHOTS / name))

    # ---- flows

    def open(self, base: str):
        self.d.get(base + "/")
        self.wait(lambda: self.d.execute_script("return document.readyState") == "complete", "the page to load")

    def wait_connected(self):
        self.wait(lambda: self.text("#conn-status") == "Connected" and self.d.find_element(By.ID, "app").is_displayed(),
                  "the console to say Connected")

    def sign_in_dev(self, user: str, role: str, name: str, areas: str = "", shot: str | None = None):
        self.field("User")  # the dev form shows up once /dev/token answered the probe
        self.type_into("User", user)
        self.select("Role", role)
        self.type_into("Tenant", TENANT)
        self.type_into("Name", name)
        self.type_into("Areas", areas)
        self.click("Get dev token")
        self.wait(lambda: self.field("Token").get_attribute("value").count(".") == 2, "the dev token in the Token field")
        if shot:
            self.shot(shot)
        self.click("Sign in")
        self.wait_connected()

    def sign_in_token(self, jwt: str):
        self.type_into("Token", jwt)
        self.click("Sign in")
        self.wait_connected()

    def contact_status(self, user: str) -> str | None:
        els = self.d.find_elements(By.CSS_SELECTOR, f'#contacts li[data-user="{user}"]')
        return els[0].get_attribute("data-status") if els else None

    def person(self, name: str):
        """The row of `name` in the people panel's results."""
        return self.wait(lambda: next((li for li in self.visible("//ul[@id='people']/li")
                                       if li.find_element(By.CSS_SELECTOR, ".person-name").text == name), None),
                         f"{name!r} among the people found")

    def find_person(self, query: str, name: str):
        self.type_into("Find people", query)
        return self.person(name)

    def ringing(self) -> str:
        return " ".join(e.text for e in self.visible("//section[@id='rings']//*[@role='alertdialog']"))

    def room_button(self, label: str):
        return self.wait(lambda: next((b for b in self.visible("//ul[@id='rooms']//button") if label.lower() in b.text.lower()), None),
                         f"a room {label!r} in the room list")

    def meeting(self, title: str):
        """The card of the meeting titled `title` in the Meetings panel."""
        return self.wait(lambda: next((li for li in self.visible("//li[contains(@class, 'meeting')][@data-meeting]")
                                       if li.find_element(By.CSS_SELECTOR, ".meeting-title").text == title), None),
                         f"the card of the meeting {title!r}")

    def rsvp_of(self, title: str, user: str) -> str | None:
        els = self.meeting(title).find_elements(By.CSS_SELECTOR, f'.roster li[data-user="{user}"]')
        return els[0].get_attribute("data-rsvp") if els else None

    def reminders(self) -> str:
        return " ".join(e.text for e in self.visible("//section[@id='reminders']/div"))

    def messages(self) -> list[str]:
        return [e.text for e in self.d.find_elements(By.CSS_SELECTOR, "#messages li .body")]

    def send(self, body: str):
        self.type_into("Message", body)
        self.click("Send")
        self.wait(lambda: body in self.messages(), f"my message {body!r} in the chat")

    def inbound_video_frames(self) -> int:
        return self.js_async(
            """const done = arguments[arguments.length - 1];
               const pc = window.liaison && window.liaison.pc;
               if (!pc) { done(-1); return; }
               pc.getStats().then((stats) => {
                 let frames = 0;
                 stats.forEach((s) => { if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === 'video') frames += s.framesDecoded || 0; });
                 done(frames);
               }, () => done(-2));""")

    def pc_state(self):
        return self.js("return window.liaison && window.liaison.pc ? window.liaison.pc.connectionState : null")

    def browser_log(self) -> str:
        try:
            return "\n".join(f"{e.get('level')} {e.get('message')}" for e in self.d.get_log("browser"))
        except WebDriverException as e:
            return f"(no browser log: {e})"


def _xq(s: str) -> str:
    """An XPath string literal."""
    if "'" not in s:
        return f"'{s}'"
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in s.split("'")) + ")"


@pytest.fixture
def browsers(tmp_path):
    """browsers(name) opens a new headless Chromium window; all are closed afterwards."""
    browser, driver_path = _chromium()
    pages: list[Page] = []

    def open_page(name: str, tz: str | None = None) -> Page:
        """`tz`: the browser's time zone (an IANA name), else the machine's."""
        profile = tempfile.mkdtemp(prefix=f"chromium-{name}-", dir=tmp_path)
        opts = webdriver.ChromeOptions()
        opts.binary_location = browser
        for arg in (
            "--headless=new",
            "--no-sandbox",  # root in a container
            "--disable-dev-shm-usage",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--auto-select-desktop-capture-source=Entire screen",
            "--autoplay-policy=no-user-gesture-required",
            "--allow-loopback-in-peer-connection",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-features=MediaRouter,OptimizationHints,Translate",
            "--disable-renderer-backgrounding",
            "--disable-background-timer-throttling",
            "--disable-backgrounding-occluded-windows",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--user-data-dir={profile}",
        ):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        env = {**os.environ, "TZ": tz} if tz else None
        service = Service(executable_path=driver_path, log_output=str(tmp_path / f"chromedriver-{name}.log"), env=env)
        d = webdriver.Chrome(options=opts, service=service)
        d.set_script_timeout(10)
        d.set_page_load_timeout(20)
        page = Page(d, name, profile)
        pages.append(page)
        return page

    yield open_page
    for p in pages:
        log = p.browser_log()
        if log:
            print(f"\n----- browser console of {p.name}\n{log[-6000:]}")
        try:
            p.d.save_screenshot(str(tmp_path / f"last-{p.name}.png"))
        except WebDriverException:
            pass
        try:
            p.d.quit()
        except WebDriverException:
            pass


def test_console_chat_presence_mod_and_video_call(server_factory, browsers):
    srv = server_factory(dev=True, mod_ttl=120)
    base = srv.http

    # The console is served by the server itself, with its modules and stylesheet.
    status, headers, body = http_get(base + "/")
    assert status == 200 and headers["content-type"].startswith("text/html") and b"Liaison console" in body
    status, headers, _ = http_get(base + "/app.js")
    assert status == 200 and "javascript" in headers["content-type"]

    hcp = browsers("hcp")
    # ---------------------------------------------------------------- sign in
    hcp.open(base)
    hcp.sign_in_dev("hana", "hcp", "Dr Hana Ito", shot="signin.png")

    msl = browsers("msl")
    msl.open(base)
    msl.sign_in_token(token(srv.secret, "mika", "msl", TENANT, name="Mika Laine"))

    # ---------------------------------------------------------------- presence and chat
    # The HCP finds the MSL (known: connected) by name, starts a direct chat and sees them online.
    hcp.find_person("Mika", "Mika Laine")
    hcp.click("Chat", root=lambda: hcp.person("Mika Laine"))
    hcp.wait(lambda: hcp.text("#room-title") == "Mika Laine", "the direct room with Mika Laine to open")
    hcp.wait(lambda: hcp.contact_status("mika") == "online", "mika online in the HCP's contacts")

    # The MSL, now in a room with the HCP, sees her among the contacts.
    msl.wait(lambda: msl.contact_status("hana") == "online", "hana online in the MSL's contacts")

    # Own status travels live.
    msl.select("Status", "away")
    hcp.wait(lambda: hcp.contact_status("mika") == "away", "mika shown away to the HCP")
    msl.select("Status", "online")
    hcp.wait(lambda: hcp.contact_status("mika") == "online", "mika back online for the HCP")

    hcp.send("Hello Mika, a question about dosing.")
    # The MSL's room list shows the new room with an unread count, then the message.
    room = msl.room_button("hana")
    msl.wait(lambda: [b.text for b in msl.room_button("hana").find_elements(By.CSS_SELECTOR, ".badge")] == ["1"],
             "an unread count of 1 on the MSL's room")
    room.click()
    msl.wait(lambda: "Hello Mika, a question about dosing." in msl.messages(), "the HCP's message at the MSL")
    # The HCP sees the read receipt.
    hcp.wait(lambda: "Read by" in hcp.text("#messages li.mine .receipt"), "a read receipt on the HCP's message")
    # Typing indicator, then a reply.
    msl.type_into("Message", "Sure, ")
    hcp.wait(lambda: "typing" in hcp.text("#typing"), "the MSL typing, shown to the HCP")
    msl.type_into("Message", "what would you like to know?", clear=False)
    msl.click("Send")
    hcp.wait(lambda: "Sure, what would you like to know?" in hcp.messages(), "the MSL's reply at the HCP")
    hcp.wait(lambda: hcp.text("#typing") == "", "the typing indicator to clear")
    hcp.wait(lambda: hcp.contact_status("mika") == "online", "presence still shown")
    hcp.shot("chat.png")

    # ---------------------------------------------------------------- MOD: ask, claim, taken
    fred = browsers("fmd-fred")
    fred.open(base)
    fred.sign_in_dev("fred", "fmd", "Dr Fred Olsen", areas="oncology, hematology")
    fiona = browsers("fmd-fiona")
    fiona.open(base)
    fiona.sign_in_token(token(srv.secret, "fiona", "fmd", TENANT, name="Dr Fiona Reyes", areas=["oncology"]))

    question = "Is the new regimen safe with renal impairment?"
    msl.type_into("Area", "oncology")
    msl.type_into("Question", question)
    Select(msl.field("Mode")).select_by_value("chat")
    msl.click("Ask an expert")
    msl.wait(lambda: "waiting for an expert" in msl.text("#my-requests"), "the MSL's request waiting")

    for fmd in (fred, fiona):
        fmd.wait(lambda fmd=fmd: question in fmd.text("#offers"), f"the offer in {fmd.name}'s inbox")

    fred.click("Claim", root=fred.d.find_element(By.ID, "offers"))
    fred.wait(lambda: "Claimed by you" in fred.text("#offers"), "fred's claim to win")
    # The other expert's Claim button greys out with "taken".
    def fiona_claim_taken():
        btns = fiona.d.find_elements(By.CSS_SELECTOR, "#offers li .claim")
        return btns and not btns[0].is_enabled() and "taken" in btns[0].text
    fiona.wait(fiona_claim_taken, "fiona's Claim button disabled, showing taken")
    # The winner lands in the MOD room, whose first message is the question.
    fred.wait(lambda: question in fred.messages(), "the question as the MOD room's first message at fred")
    # The requester sees who claimed, and the room opens.
    msl.wait(lambda: "claimed by Dr Fred Olsen" in msl.text("#my-requests"), "the MSL seeing who claimed")
    msl.wait(lambda: question in msl.messages(), "the MOD room open at the MSL")
    fred.send("Hello, Fred here: yes, with a dose adjustment.")
    msl.wait(lambda: "Hello, Fred here: yes, with a dose adjustment." in msl.messages(), "the expert's answer at the MSL")
    fiona.shot("mod-inbox-taken.png")
    msl.shot("mod-claimed.png")

    # ---------------------------------------------------------------- history paging, offline catch-up
    # 60 more messages from the HCP, sent by script (the point here is the paging in a fresh window).
    sent = hcp.js_async("""const done = arguments[arguments.length - 1];
        (async () => {
          const l = window.liaison, room = l.state.openRoom;
          for (let i = 1; i <= 60; i++) await l.conn.request('msg.send', {room, body: 'bulk ' + i, client_msg_id: 'bulk-' + i});
          done(true);
        })().catch((e) => done(String(e)));""")
    assert sent is True, sent
    msl2 = browsers("msl-second-window")
    msl2.open(base)
    msl2.sign_in_token(token(srv.secret, "mika", "msl", TENANT, name="Mika Laine"))
    msl2.room_button("hana").click()
    msl2.wait(lambda: "bulk 60" in msl2.messages(), "the newest page of history")
    assert "Hello Mika, a question about dosing." not in msl2.messages()
    msl2.click("Load older")
    msl2.wait(lambda: msl2.messages()[:2] == ["Hello Mika, a question about dosing.", "Sure, what would you like to know?"],
              "the oldest messages after Load older")
    msl2.wait(lambda: not msl2.visible("//button[normalize-space()='Load older']"), "no Load older at the start of the room")
    assert len(msl2.messages()) == 62

    # Both of the MSL's windows lose the network; the HCP sees them offline and writes meanwhile.
    for page in (msl, msl2):
        page.js("window.liaison.goOffline(4000)")
    for page in (msl, msl2):
        page.wait(lambda page=page: page.text("#conn-status").startswith("Disconnected"), f"{page.name} showing Disconnected")
    hcp.wait(lambda: hcp.contact_status("mika") == "offline", "mika offline for the HCP")
    hcp.send("Are you back? (sent while you were offline)")
    for page in (msl, msl2):
        page.wait(lambda page=page: page.text("#conn-status") == "Connected", f"{page.name} reconnected", timeout=20)
    msl2.wait(lambda: "Are you back? (sent while you were offline)" in msl2.messages(), "the missed message after reconnect")
    hcp.wait(lambda: hcp.contact_status("mika") == "online", "mika online again for the HCP")
    msl.room_button("hana").click()
    msl.wait(lambda: "Are you back? (sent while you were offline)" in msl.messages(), "the missed message in the first window")

    # ---------------------------------------------------------------- video call, ringing on every window of the callee
    # A declined call: rejected in one window, the other window stops ringing, the caller is told.
    hcp.click("Call", root=hcp.d.find_element(By.ID, "chat"))
    for page in (msl, msl2):
        page.wait(lambda page=page: page.visible("//section[@id='rings']//*[@role='alertdialog']"), f"the ring in {page.name}")
    msl2.click("Reject", root=msl2.d.find_element(By.ID, "rings"))
    hcp.wait(lambda: "ended (declined)" in hcp.text("#call-status"), "the caller told the call was declined")
    msl.wait(lambda: not msl.visible("//section[@id='rings']//*[@role='alertdialog']"), "the first window to stop ringing")

    # The call, answered in the first window.
    hcp.click("Call", root=hcp.d.find_element(By.ID, "chat"))
    for page in (msl, msl2):
        page.wait(lambda page=page: page.visible("//section[@id='rings']//*[@role='alertdialog']"), f"the ring in {page.name}")
        page.button("Accept")
        page.button("Reject")
    msl.click("Accept", root=msl.d.find_element(By.ID, "rings"))
    # The other window stops ringing: answered elsewhere.
    msl2.wait(lambda: not msl2.visible("//section[@id='rings']//*[@role='alertdialog']"), "the second window to stop ringing")

    for page in (hcp, msl):
        page.wait(lambda page=page: page.pc_state() == "connected", f"RTCPeerConnection connected in {page.name}", timeout=30)
        page.wait(lambda page=page: "connected" in page.text("#call-status"), f"the word connected in {page.name}'s call view")
        page.wait(lambda page=page: page.inbound_video_frames() > 0, f"decoded inbound video in {page.name}", timeout=30)
    before = {p.name: p.inbound_video_frames() for p in (hcp, msl)}
    for page in (hcp, msl):
        page.wait(lambda page=page: page.inbound_video_frames() > before[page.name] + 10, f"inbound video frames increasing in {page.name}", timeout=20)
    hcp.wait(lambda: hcp.text("#call-duration") not in ("", "0:00"), "the call duration running")
    hcp.button("Share screen")
    hcp.button("Hang up")
    hcp.shot("call.png")

    # Screen share: a second video track, renegotiated through call.sdp, shows as a second remote video.
    hcp.click("Share screen")
    hcp.wait(lambda: hcp.visible("//button[normalize-space()='Stop sharing']") or "not started" in hcp.text("#announcer"),
             "screen sharing to start")
    assert hcp.visible("//button[normalize-space()='Stop sharing']"), f"screen share refused: {hcp.text('#announcer')}"
    msl.wait(lambda: msl.js("return document.querySelectorAll('#remote-videos video').length") == 2,
             "the shared screen as a second video at the MSL", timeout=20)
    msl.shot("call-screen-share.png")
    hcp.click("Stop sharing")
    msl.wait(lambda: msl.js("return document.querySelectorAll('#remote-videos video').length") == 1,
             "the shared screen gone at the MSL", timeout=20)
    for page in (hcp, msl):
        page.wait(lambda page=page: page.pc_state() == "connected", f"{page.name} still connected after renegotiation")

    hcp.click("Hang up")
    for page in (hcp, msl):
        page.wait(lambda page=page: "ended" in page.text("#call-status") or page.pc_state() is None, f"the call ended in {page.name}")
        page.wait(lambda page=page: page.pc_state() is None, f"no live RTCPeerConnection in {page.name}")
    # The call leaves a system message in the room.
    hcp.wait(lambda: hcp.d.find_elements(By.CSS_SELECTOR, "#messages li.system"), "the call's system message in the room", timeout=10)


def test_console_first_time_user_finds_a_colleague_chats_and_calls(server_factory, browsers):
    """Someone who knows nobody's id: finds a colleague by part of their name, chats, calls, and
    sees names everywhere."""
    srv = server_factory()
    mika = browsers("colleague")
    mika.open(srv.http)
    mika.sign_in_token(token(srv.secret, "mika", "msl", TENANT, name="Mika Laine"))
    hana = browsers("first-timer")
    hana.open(srv.http)
    hana.sign_in_token(token(srv.secret, "hana", "hcp", TENANT, name="Dr Hana Ito"))

    # Nothing to act on yet: no Call for the conversation, Send disabled.
    chat = hana.d.find_element(By.ID, "chat")
    assert not hana.visible(".//button[normalize-space()='Call']", chat)
    assert not hana.d.find_element(By.ID, "send").is_enabled()

    # Part of the surname finds the colleague, with role and status, and Chat / Call for them.
    hana.find_person("lain", "Mika Laine")
    hana.wait(lambda: "Medical science liaison" in hana.person("Mika Laine").text, "Mika's role in the result")
    hana.wait(lambda: "online" in hana.person("Mika Laine").text, "Mika's status in the result")
    hana.wait(lambda: hana.button("Chat", root=hana.person("Mika Laine")).accessible_name == "Chat with Mika Laine",
              "the Chat button named for Mika")
    hana.wait(lambda: hana.button("Call", root=hana.person("Mika Laine")).accessible_name == "Call Mika Laine",
              "the Call button named for Mika")
    hana.shot("people.png")

    # Chat opens the direct room; the message reaches the colleague under the sender's name.
    hana.click("Chat", root=lambda: hana.person("Mika Laine"))
    hana.wait(lambda: hana.text("#room-title") == "Mika Laine", "the direct room with Mika Laine to open")
    hana.send("Hello Mika, could we talk about the new study?")
    mika.room_button("Dr Hana Ito").click()
    mika.wait(lambda: "Hello Mika, could we talk about the new study?" in mika.messages(), "Hana's message at Mika")
    assert mika.text("#messages li:not(.mine) .from") == "Dr Hana Ito"
    assert mika.text("#room-title") == "Dr Hana Ito"

    # Call from the people panel: the colleague's browser rings with the caller's name.
    hana.click("Call", root=lambda: hana.person("Mika Laine"))
    mika.wait(lambda: "Dr Hana Ito is calling" in mika.ringing(), "the ring at Mika, saying who calls")
    assert " from " not in mika.ringing(), mika.ringing()
    mika.shot("ringing.png")
    mika.click("Accept", root=mika.d.find_element(By.ID, "rings"))
    for page in (hana, mika):
        page.wait(lambda page=page: "connected" in page.text("#call-status"), f"the call connected in {page.name}", timeout=30)
    assert "Mika Laine" in hana.text("#call-status") and "Dr Hana Ito" in mika.text("#call-status")
    hana.button("Share screen")

    # The callee hangs up: no call panel with video tiles stays, no Share screen. The MSL's summary
    # offers a call note; the HCP's never does.
    mika.click("Hang up")
    mika.wait(lambda: mika.visible("//button[normalize-space()='Add call note']"), "Add call note in the MSL's call summary")
    for page in (hana, mika):
        page.wait(lambda page=page: page.pc_state() is None, f"the call over in {page.name}")
        if page is hana:
            hana.wait(lambda: "ended" in hana.text("#call-status"), "the call's summary at the HCP")
            assert not hana.visible("//button[normalize-space()='Add call note']"), "an HCP is offered a call note"
        page.wait(lambda page=page: not page.visible("//video") and not page.visible("//button[normalize-space()='Hang up']"),
                  f"no video tile or Hang up left in {page.name}")
        assert not page.visible("//button[normalize-space()='Share screen']")
        page.wait(lambda page=page: not page.visible("//section[@id='call']"), f"the call panel closed in {page.name}")

    # The call's record names both parties, so it reads true on either side.
    for page in (hana, mika):
        page.wait(lambda page=page: any("Video call from Dr Hana Ito to Mika Laine ended" in m for m in page.messages()),
                  f"the call record at {page.name}")

    # Names, never ids, on both pages.
    for page, ids in ((hana, ("hana", "mika")), (mika, ("hana", "mika"))):
        shown = page.d.find_element(By.TAG_NAME, "body").text
        for uid in ids:
            assert not re.search(rf"\b{uid}\b", shown), f"[{page.name}] the id {uid!r} shows: {shown}"
    hana.shot("names.png")


def test_console_sign_in_says_why_a_token_was_refused(server_factory, browsers):
    srv = server_factory()
    page = browsers("expired")
    page.open(srv.http)
    page.type_into("Token", token(srv.secret, "mika", "msl", TENANT, name="Mika Laine", ttl=-120))
    page.click("Sign in")
    page.wait(lambda: "token expired" in page.text("#signin-error"), "the sign-in page to say the token expired")
    assert page.visible("//*[@id='signin-error']")
    page.type_into("Token", token("another-secret-that-is-long-enough-for-hs256", "mika", "msl", TENANT))
    page.click("Sign in")
    page.wait(lambda: "bad signature" in page.text("#signin-error"), "the sign-in page to say the signature is bad")


def test_console_loads_cleanly_without_dev(server_factory, browsers):
    """Without --dev: no dev form, no request to /dev/token, and nothing in the browser's log at
    level SEVERE (no 404, no script error) while loading and signing in."""
    srv = server_factory()
    assert http_get(srv.http + "/dev/token?sub=x&role=msl&tenant=t")[0] == 404
    page = browsers("plain")
    page.open(srv.http)
    page.field("Token")
    page.wait(lambda: page.js("return performance.getEntriesByType('resource').some((e) => e.name.endsWith('/v1/info'))"),
              "the page asking /v1/info")
    assert not page.visible("//label[normalize-space()='User']"), "the dev form shows without --dev"
    assert not page.visible("//button[normalize-space()='Get dev token']")
    page.sign_in_token(token(srv.secret, "mika", "msl", TENANT, name="Mika Laine"))
    page.wait(lambda: page.text("#people-status") != "", "the people panel's first listing")
    requested = page.js("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert not [u for u in requested if "/dev/token" in u], requested
    severe = [e for e in page.d.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe


# ---------------------------------------------------------------- meetings

LOCAL_INPUT_JS = """const d = new Date(arguments[0]), p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;"""


def _local_ms(page: Page, days: int, hour: int) -> int:
    """`hour`:00 `days` from today in the browser's zone, as ms since the epoch."""
    return page.js("const d = new Date(); d.setDate(d.getDate() + arguments[0]); d.setHours(arguments[1], 0, 0, 0);"
                   " return d.getTime()", days, hour)


def _local_input(page: Page, ms: int) -> str:
    """What a datetime-local field holds for the instant `ms` in the browser's zone."""
    return page.js(LOCAL_INPUT_JS, ms)


def _schedule(page: Page, title: str, starts_at: int, invitee: tuple[str, str], *, agenda: str = "", minutes: int = 30,
              forwardable: bool = False):
    """Fills the Schedule form, picking the invitee (query, name) in the people panel; does not submit."""
    page.click("Schedule a meeting")
    page.type_into("Title", title)
    page.set_value("Starts at", _local_input(page, starts_at))
    page.type_into("Duration (minutes)", str(minutes))
    if agenda:
        page.type_into("Agenda", agenda)
    if forwardable:
        page.visible("//label[normalize-space()='Attendees may forward it']/input")[0].click()
    query, name = invitee
    page.find_person(query, name)
    page.click("Invite", root=lambda: page.person(name))
    page.wait(lambda: name in page.text("#sched-invitees"), f"{name} among the invitees")
    page.wait(lambda: page.button("Invited", root=page.person(name)).is_enabled() is False, f"{name} shown as invited")


def test_console_meetings_schedule_answer_notes_feed_reminder_and_call(server_factory, browsers):
    """An MSL in Paris schedules with an FMD in New York from the form; the FMD accepts from the invite
    card and the MSL's card shows it; notes both ways; the calendar feed; a reschedule close to now
    brings the reminder banner; the meeting's call from Join call; a call note after it."""
    srv = server_factory(meeting_reminder=10)
    base = srv.http
    fmd = browsers("meeting-fmd", tz="America/New_York")
    fmd.open(base)
    fmd.sign_in_token(token(srv.secret, "fatima", "fmd", TENANT, name="Dr Fatima Nasser", areas=["oncology"]))
    msl = browsers("meeting-msl", tz="Europe/Paris")
    msl.open(base)
    msl.sign_in_token(token(srv.secret, "mika", "msl", TENANT, name="Mika Laine"))
    zone = "return Intl.DateTimeFormat().resolvedOptions().timeZone"
    assert (msl.js(zone), fmd.js(zone)) == ("Europe/Paris", "America/New_York")
    title = "Trial 42 dosing review"

    # ---------------------------------------------------------------- schedule from the form
    _schedule(msl, title, _local_ms(msl, -1, 10), ("Fatima", "Dr Fatima Nasser"), agenda="Renal dosing; the new safety data",
              minutes=45)
    msl.click("Schedule")  # a start in the past: the server's refusal shows in the form, with its message
    msl.wait(lambda: "must be in the future" in msl.text("#sched-error"), "the server's refusal of a past start, inline")
    assert msl.visible("//form[@id='schedule-form']"), "the form closed on a refusal"
    starts = _local_ms(msl, 1, 10)  # tomorrow 10:00 in Paris
    msl.set_value("Starts at", _local_input(msl, starts))
    msl.click("Schedule")
    msl.wait(lambda: not msl.visible("//form[@id='schedule-form']"), "the form to close once scheduled")
    assert not msl.visible("//*[@id='pick-bar']"), "the people panel still picking invitees"
    card = msl.meeting(title)
    assert "Renal dosing; the new safety data" in card.text and "45 min" in card.text, card.text
    assert "organizer's time" not in card.text, card.text
    assert (msl.rsvp_of(title, "mika"), msl.rsvp_of(title, "fatima")) == ("accepted", "pending")

    # ---------------------------------------------------------------- the invite at the FMD, in her zone
    card = fmd.meeting(title)
    fmd.wait(lambda: "organized by Mika Laine" in fmd.meeting(title).text, "the organizer's name on the FMD's card")
    card = fmd.meeting(title)
    assert card.find_element(By.TAG_NAME, "time").get_attribute("datetime") == \
        datetime.fromtimestamp(starts / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    new_york = datetime.fromtimestamp(starts / 1000, ZoneInfo("America/New_York"))
    assert new_york.strftime("%H:%M") in card.text or new_york.strftime("%I:%M") in card.text, card.text
    assert "Europe/Paris, the organizer's time" in card.text, card.text
    assert fmd.rsvp_of(title, "fatima") == "pending"
    assert not fmd.visible(".//button[normalize-space()='Reschedule' or normalize-space()='Cancel meeting']", card)
    assert not fmd.visible(".//button[normalize-space()='Forward']", card), "Forward offered on a meeting that is not forwardable"
    fmd.room_button(title)  # the meeting's own room

    fmd.click("Accept", root=lambda: fmd.meeting(title))
    fmd.wait(lambda: fmd.button("Accept", root=fmd.meeting(title)).get_attribute("aria-pressed") == "true",
             "the FMD's Accept highlighted")
    assert fmd.button("Decline", root=fmd.meeting(title)).get_attribute("aria-pressed") == "false"
    msl.wait(lambda: msl.rsvp_of(title, "fatima") == "accepted", "the MSL's card showing the FMD accepted")
    assert "accepted" in msl.meeting(title).find_element(By.CSS_SELECTOR, '.roster li[data-user="fatima"]').text

    # ---------------------------------------------------------------- notes
    fmd.click("Notes", root=lambda: fmd.meeting(title))
    fmd.wait(lambda: "No notes yet." in fmd.meeting(title).text, "the FMD's empty notes")
    fmd.select("Kind", "Follow-up")
    fmd.type_into("Note", "Send Mika the renal sub-study")
    fmd.click("Add note", root=lambda: fmd.meeting(title))
    fmd.wait(lambda: "Send Mika the renal sub-study" in fmd.meeting(title).text, "the note on the FMD's card")
    msl.click("Notes", root=lambda: msl.meeting(title))
    msl.wait(lambda: "Send Mika the renal sub-study" in msl.meeting(title).text, "the FMD's note on the MSL's card")
    note = msl.meeting(title).find_element(By.CSS_SELECTOR, ".note")
    assert "follow-up" in note.text.lower() and "Dr Fatima Nasser" in note.text, note.text

    # ---------------------------------------------------------------- the calendar feed
    msl.click("Subscribe in calendar")
    msl.wait(lambda: msl.field("Calendar feed address").get_attribute("value").endswith(".ics"), "the feed's address")
    url = msl.field("Calendar feed address").get_attribute("value")
    assert url.startswith(base + "/v1/calendar/"), url
    status, headers, body = http_get(url)
    assert status == 200 and headers["content-type"].startswith("text/calendar"), (url, status, headers)
    assert f"SUMMARY:{title}".encode() in body, body[:600]
    msl.click("Copy")
    msl.wait(lambda: msl.text("#feed-status") == "Address copied.", "the address copied")
    msl.click("Reset link")
    msl.wait(lambda: msl.field("Calendar feed address").get_attribute("value") not in ("", url), "a new feed address")
    assert http_get(url)[0] == 404, "the old feed address still answers"
    assert http_get(msl.field("Calendar feed address").get_attribute("value"))[0] == 200

    # ---------------------------------------------------------------- reschedule close to now: the reminder
    soon = (now_ms() // 60000 + 4) * 60000  # 3 to 4 minutes ahead, within the 10-minute reminder lead
    msl.click("Reschedule", root=lambda: msl.meeting(title))
    msl.set_value("New start", _local_input(msl, soon))
    msl.click("Save new time", root=lambda: msl.meeting(title))
    for page in (msl, fmd):
        page.wait(lambda page=page: re.search(rf"“{title}” starts in [1-5] min", page.reminders()), f"the reminder banner in {page.name}")
        page.button("Open room", root=page.d.find_element(By.ID, "reminders"))
    fmd.wait(lambda: fmd.rsvp_of(title, "fatima") == "pending", "the new time asking the FMD to answer again")
    fmd.click("Accept", root=lambda: fmd.meeting(title))
    msl.wait(lambda: msl.rsvp_of(title, "fatima") == "accepted", "the FMD's new answer on the MSL's card")
    # The picture: the MSL's card with the roster, notes and Join call, the meeting's room, the reminder.
    msl.click("Subscribe in calendar")  # folds the feed away
    msl.click("Open room", root=lambda: msl.meeting(title))
    msl.wait(lambda: msl.text("#room-title") == title, "the meeting's room open at the MSL")
    msl.wait(lambda: any("moved" in m for m in msl.messages()), "the room's system messages at the MSL")
    msl.shot("meetings.png", at=msl.d.find_element(By.ID, "meetings-panel"))
    fmd.click("Open room", root=lambda: fmd.d.find_element(By.ID, "reminders"))
    fmd.wait(lambda: fmd.text("#room-title") == title, "the meeting's room open from the reminder")
    fmd.wait(lambda: any("moved" in m and title in m for m in fmd.messages()), "the room's system message about the new time")
    assert not fmd.reminders(), "the reminder stays after Open room"

    # ---------------------------------------------------------------- the meeting's call: Join call on both sides
    msl.click("Join call", root=lambda: msl.meeting(title))
    fmd.wait(lambda: "Mika Laine is calling" in fmd.ringing(), "the meeting's call ringing at the FMD")
    fmd.click("Join call", root=lambda: fmd.meeting(title))  # answers the ringing call
    for page in (msl, fmd):
        page.wait(lambda page=page: page.pc_state() == "connected", f"the meeting's call connected in {page.name}", timeout=30)
        page.wait(lambda page=page: page.meeting(title).get_attribute("data-status") == "in_progress",
                  f"the meeting in progress on {page.name}'s card")
    assert "in progress" in msl.meeting(title).text.lower()
    msl.click("Hang up")
    for page in (msl, fmd):
        page.wait(lambda page=page: page.meeting(title).get_attribute("data-status") == "held", f"the meeting held on {page.name}'s card")
    assert msl.meeting(title) in msl.visible("//ul[@id='meetings-past']/li"), "a held meeting among the upcoming ones"
    msl.wait(lambda: "In the meeting's call: you, Dr Fatima Nasser" in msl.meeting(title).text, "the attendance in the MSL's notes")

    # A call note from the call's summary (the summary stays while it is written).
    msl.click("Add call note")
    msl.select("Note kind", "Insight")
    msl.type_into("Call note", "Asked about trials in renal impairment")
    msl.click("Save note")
    msl.wait(lambda: msl.text("#call-note-saved") == "Note saved.", "the call note saved")
    msl.wait(lambda: not msl.visible("//section[@id='call']"), "the call summary gone after the note")


def test_console_meetings_an_hcp_answers_but_sees_no_note_controls(server_factory, browsers):
    """An HCP invited by an MSL answers from the card; no Notes, no note field, no Add note, none of
    the organizer's actions; Forward (the meeting is forwardable) lists whom it may go to. An admin
    has no Meetings panel."""
    srv = server_factory()
    hcp = browsers("meeting-hcp")
    hcp.open(srv.http)
    hcp.sign_in_token(token(srv.secret, "hana", "hcp", TENANT, name="Dr Hana Ito"))
    msl = browsers("meeting-organizer")
    msl.open(srv.http)
    msl.sign_in_token(token(srv.secret, "mika", "msl", TENANT, name="Mika Laine"))
    title = "Renal sub-study: your questions"
    _schedule(msl, title, _local_ms(msl, 1, 9), ("Hana", "Dr Hana Ito"), forwardable=True)
    msl.click("Schedule")
    msl.meeting(title)

    card = hcp.meeting(title)
    hcp.click("Tentative", root=lambda: hcp.meeting(title))
    msl.wait(lambda: msl.rsvp_of(title, "hana") == "tentative", "the HCP's answer on the MSL's card")
    hcp.wait(lambda: hcp.button("Tentative", root=hcp.meeting(title)).get_attribute("aria-pressed") == "true", "Tentative highlighted")

    # The organizer keeps a note; the HCP has no note controls and never sees it.
    msl.click("Notes", root=lambda: msl.meeting(title))
    msl.type_into("Note", "Dr Ito will send her cohort's data")
    msl.click("Add note", root=lambda: msl.meeting(title))
    msl.wait(lambda: "Dr Ito will send her cohort's data" in msl.meeting(title).text, "the MSL's note")
    card = hcp.meeting(title)
    for text in ("Notes", "Add note", "Reschedule", "Cancel meeting"):
        assert not hcp.visible(f".//button[normalize-space()='{text}']", card), f"the HCP is offered {text!r}"
    assert not hcp.visible("//label[normalize-space()='Note' or normalize-space()='Kind']"), "a note field for the HCP"
    assert "cohort" not in hcp.d.find_element(By.TAG_NAME, "body").text

    # Forwardable: the HCP may forward, and the people panel marks who is already invited.
    hcp.click("Forward", root=lambda: hcp.meeting(title))
    hcp.wait(lambda: f"Forwarding “{title}”" in hcp.text("#pick-what"), "the people panel picking for the forward")
    hcp.find_person("Mika", "Mika Laine")
    hcp.wait(lambda: not hcp.button("Invited", root=hcp.person("Mika Laine")).is_enabled(), "Mika shown already invited")
    hcp.click("Cancel", root=hcp.d.find_element(By.ID, "pick-bar"))
    hcp.wait(lambda: not hcp.visible("//*[@id='pick-bar']"), "the picker gone")

    admin = browsers("meeting-admin")
    admin.open(srv.http)
    admin.sign_in_token(token(srv.secret, "root", "admin", TENANT, name="Ada Admin"))
    assert not admin.visible("//*[@id='meetings-panel']"), "an admin has a Meetings panel"
    assert not admin.visible("//section[@id='reminders']/div")


# ---------------------------------------------------------------- files


def _png(width: int, height: int) -> bytes:
    """A valid RGB PNG of one colour, made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x1f\x5f\xbf" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


THUMBNAILS_JS = """return [...document.querySelectorAll('#messages li .attachment img')].map((i) => ({
    alt: i.alt, src: i.src.slice(0, 5), complete: i.complete, width: i.naturalWidth}));"""


def test_console_attach_sends_an_image_the_other_side_sees_as_a_thumbnail(server_factory, browsers, tmp_path):
    """An MSL attaches a PNG and a text file in a direct room with an HCP, with a caption: both
    browsers show the picture as a thumbnail (fetched with the session's token, shown from a blob:
    URL) and the text file as a download link with its size. A type the server does not take is
    refused with its reason under the message field, and nothing is sent."""
    srv = server_factory()
    hcp = browsers("attach-hcp")
    hcp.open(srv.http)
    hcp.sign_in_token(token(srv.secret, "hana", "hcp", TENANT, name="Dr Hana Ito"))
    msl = browsers("attach-msl")
    msl.open(srv.http)
    msl.sign_in_token(token(srv.secret, "mika", "msl", TENANT, name="Mika Laine"))
    assert not msl.button("Attach").is_enabled(), "Attach before a conversation is open"

    picture = tmp_path / "dosing chart.png"
    picture.write_bytes(_png(96, 64))
    notes = tmp_path / "notes.txt"
    notes.write_text("renal dosing\n")
    script = tmp_path / "run.sh"
    script.write_text("echo no\n")

    msl.find_person("Hana", "Dr Hana Ito")
    msl.click("Chat", root=lambda: msl.person("Dr Hana Ito"))
    msl.wait(lambda: msl.text("#room-title") == "Dr Hana Ito", "the direct room with Dr Hana Ito to open")
    msl.wait(lambda: msl.button("Attach").is_enabled(), "Attach enabled in the open room")
    msl.type_into("Message", "The chart we discussed")
    # Attach opens the browser's file chooser: its input takes the files (both at once).
    chooser = msl.d.find_element(By.CSS_SELECTOR, "#send-form input[type=file]")
    chooser.send_keys(f"{picture}\n{notes}")

    def thumbnail_shown(page: Page) -> bool:
        return any(t["alt"] == "dosing chart.png" and t["src"] == "blob:" and t["complete"] and t["width"] == 96
                   for t in page.js(THUMBNAILS_JS))

    msl.wait(lambda: thumbnail_shown(msl), "the thumbnail of the picture in the MSL's own message")
    assert "The chart we discussed" in msl.messages()
    assert msl.field("Message").get_attribute("value") == "", "the caption stays in the message field"

    hcp.room_button("Mika Laine").click()
    hcp.wait(lambda: "The chart we discussed" in hcp.messages(), "the message at the HCP")
    hcp.wait(lambda: thumbnail_shown(hcp), "the thumbnail loaded at the HCP (naturalWidth 96)")
    message = hcp.d.find_element(By.CSS_SELECTOR, "#messages li:not(.mine)")
    assert hcp.button("notes.txt", root=message).accessible_name == "Download notes.txt, 13 B"
    assert "13 B" in message.text and "dosing chart.png" in message.text
    hcp.shot("attachments.png")

    # The thumbnail's bytes came from GET /v1/files/{file} with the bearer token; the download
    # link fetches the same way.
    fetched = hcp.js_async("""const done = arguments[arguments.length - 1];
        const li = document.querySelector('#messages li:not(.mine)');
        const files = [...li.querySelectorAll('.attachment')].map((a) => a.dataset.file);
        fetch('/v1/files/' + files[1]).then((r) => done({files, anonymous: r.status}), (e) => done(String(e)));""")
    assert fetched["anonymous"] == 401, fetched
    assert all(re.fullmatch(r"f[0-9a-f]{24}", f) for f in fetched["files"]), fetched
    hcp.click("notes.txt", root=hcp.d.find_element(By.CSS_SELECTOR, "#messages li:not(.mine)"))
    hcp.wait(lambda: hcp.js("return performance.getEntriesByType('resource').filter((e) => "
                            "e.name.endsWith('/v1/files/' + arguments[0])).length", fetched["files"][1]) >= 1,
             "the download of notes.txt requested")

    # A type the server does not take: refused with the server's reason, nothing sent.
    count = len(msl.d.find_elements(By.CSS_SELECTOR, "#messages li"))
    msl.d.find_element(By.CSS_SELECTOR, "#send-form input[type=file]").send_keys(str(script))
    msl.wait(lambda: "run.sh: files of type" in msl.text("#attach-error"), "the refusal of run.sh under the message field")
    assert "may not be uploaded" in msl.text("#attach-error")
    time.sleep(0.5)
    assert len(msl.d.find_elements(By.CSS_SELECTOR, "#messages li")) == count
    assert msl.button("Attach").is_enabled()
