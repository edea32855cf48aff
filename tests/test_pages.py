"""The browser demo's chat page and the operations console, in headless Chromium.

One ``python -m sandbox --web`` for the module (Redis, the stand-ins, the real bot and two
real workers, the console with its token), one browser. Each test plays different
people, so they do not share batches, and asserts what a person sees on the pages. Each
test leaves a screenshot of its pages in test-artifacts/screenshots, failing or not.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from sandbox.transcription_api import VOICE_NOTE_WORDS
from sandbox.web_chat import REASONING, SECOND_PART
from tests.browser import CHROMIUM_FLAGS, SCREENSHOTS, RunningDemo, chromium_path, start_web_demo

BURST = ["hi", "can I book", "a haircut", "tomorrow?"]
WAIT_MS = 30_000
SHARE_OF_BAR = (
    "bar => bar.getBoundingClientRect().width / bar.parentElement.getBoundingClientRect().width"
)


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningDemo]:
    running = start_web_demo()
    yield running
    code = running.stop()
    leftovers = running.leftovers()
    if leftovers:
        os.killpg(running.process.pid, signal.SIGKILL)
    assert not leftovers, f"the demo left these running: {leftovers}"
    assert code == 0, "\n".join(running.output[-30:])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    playwright: Playwright = sync_playwright().start()
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    yield launched
    launched.close()
    playwright.stop()


class Pages:
    """The pages one test opens, in a browser context of its own."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.opened: list[Page] = []
        self.not_found: list[str] = []
        """Every request of a page that answered 404 (a favicon is a request too)."""

    def open(self, url: str) -> Page:
        page = self.context.new_page()
        page.on("response", lambda r: self.not_found.append(r.url) if r.status == 404 else None)
        page.goto(url)
        self.opened.append(page)
        return page


@pytest.fixture
def pages(demo: RunningDemo, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Pages]:
    """Each page's screenshot is written when the test ends, passed or failed. Every
    test starts with the example backend answering normally."""
    set_backend_mode(demo, "normal")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened = Pages(browser.new_context(viewport={"width": 1320, "height": 860}))
    yield opened
    for index, page in enumerate(opened.opened):
        page.screenshot(path=SCREENSHOTS / f"{request.node.name}-{index + 1}.png")
    opened.context.close()
    assert opened.not_found == [], f"requests of the pages answered 404: {opened.not_found}"


def set_backend_mode(demo: RunningDemo, mode: str) -> None:
    request = urllib.request.Request(
        demo.chat_url + "api/backend",
        data=json.dumps({"mode": mode}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def add_person(page: Page, name: str, channel: str = "telegram") -> Locator:
    """Add a simulated person with the page's form; their card."""
    page.locator("#new-name").fill(name)
    page.locator("#new-channel").select_option(channel)
    page.locator("#add-person button").click()
    return person(page, name)


def person(page: Page, name: str) -> Locator:
    return page.locator(f'.person:has(.name:text-is("{name}"))')


def say(card: Locator, text: str) -> None:
    """Type a message in a person's chat and press Enter."""
    box = card.locator(".message-input")
    box.fill(text)
    box.press("Enter")


def timeline(card: Locator, kind: str) -> Locator:
    return card.locator(f'.timeline li[data-kind="{kind}"]')


def bar_share(card: Locator) -> float:
    """How full the deadline bar is drawn, 0 to 1."""
    return float(card.locator(".deadline .bar i").evaluate(SHARE_OF_BAR))


def test_a_burst_gets_one_answer_and_the_deadline_moves_back_with_each_message(
    demo: RunningDemo, pages: Pages
) -> None:
    page = pages.open(demo.chat_url)
    ana = person(page, "Ana")
    say(ana, BURST[0])
    expect(timeline(ana, "stored")).to_have_count(1, timeout=WAIT_MS)
    for count, text in enumerate(BURST[1:], start=2):
        # Let the bar run down a little, then the next message must push it back up.
        page.wait_for_function(
            f"bar => ({SHARE_OF_BAR})(bar) < 0.8",
            arg=ana.locator(".deadline .bar i").element_handle(),
        )
        before = bar_share(ana)
        deadline_before = int(ana.locator(".deadline .bar").get_attribute("data-deadline") or 0)
        say(ana, text)
        expect(timeline(ana, "stored")).to_have_count(count, timeout=WAIT_MS)
        assert int(ana.locator(".deadline .bar").get_attribute("data-deadline") or 0) > (
            deadline_before
        )
        assert bar_share(ana) > before

    expect(ana.locator(".bubble.reply")).to_have_count(1, timeout=WAIT_MS)
    expect(ana.locator(".bubble.reply")).to_contain_text("I got your 4 message(s)")
    expect(timeline(ana, "done")).to_have_count(1, timeout=WAIT_MS)
    expect(timeline(ana, "backend")).to_have_count(1)
    expect(ana.locator(".bubble.reply")).to_have_count(1)

    details = ana.locator("details.backend-json")
    details.locator("summary").click()
    sent = json.loads(details.locator("pre").inner_text())
    assert [m["text"] for m in sent["messages"]] == BURST
    assert sent["user"]["first_name"] == "Ana"
    expect(timeline(ana, "backend-answer")).to_contain_text("backend answered 200")


def test_an_answer_in_two_parts_arrives_paced_as_if_typed(demo: RunningDemo, pages: Pages) -> None:
    page = pages.open(demo.chat_url)
    page.locator('#backend-mode input[value="parts"]').check()
    ben = person(page, "Ben")
    say(ben, "what times are free tomorrow?")
    expect(ben.locator(".bubble.reply")).to_have_count(2, timeout=WAIT_MS)
    expect(ben.locator(".bubble.reply").nth(1)).to_contain_text(SECOND_PART)
    expect(timeline(ben, "backend")).to_have_count(1)

    second = timeline(ben, "reply").nth(1).inner_text()
    shown = re.search(r"\+([\d.]+) s after the previous part", second)
    assert shown is not None, second
    gap = float(shown.group(1))
    pause = min(len(SECOND_PART) * 0.02, 2.0)  # REPLY_PACING_* defaults
    assert gap >= pause - 0.01, f"the second part came {gap} s after the first"
    # While the backend worked, "Thinking…" (an empty draft, standing in for "typing…")
    # showed; "typing…" came before the second part (the timeline lists what one read of
    # the stand-in found in its own order: typing, drafts, then replies).
    kinds = ben.locator(".timeline li").evaluate_all("items => items.map(i => i.dataset.kind)")
    first_reply, second_reply = (index for index, kind in enumerate(kinds) if kind == "reply")
    assert "draft" in kinds[:first_reply], kinds
    assert "typing" in kinds[:second_reply], kinds
    page.locator('#backend-mode input[value="normal"]').check()

    # The bot's own /start answer after that batch is no part of it: no pause is shown.
    expect(timeline(ben, "done")).to_have_count(1, timeout=WAIT_MS)
    say(ben, "/start")
    expect(timeline(ben, "reply")).to_have_count(3, timeout=WAIT_MS)
    greeting = timeline(ben, "reply").nth(2).inner_text()
    assert "Hi! Write to me" in greeting and "after the previous part" not in greeting, greeting
    # A deadline already reached reads "due now", never "due in -0.0 s".
    said = page.evaluate(
        "describe({kind: 'stored', at_ms: 5000, data: {pending: 2, deadline_ms: 4990}})"
    )
    assert said == "stored in Redis: 2 pending — batch due now"


def post_to_chat_page(demo: RunningDemo, path: str, body: bytes) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        demo.chat_url + path, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_chat_pages_api_answers_bad_bodies_with_400_saying_what_was_wrong(
    demo: RunningDemo,
) -> None:
    with urllib.request.urlopen(demo.chat_url + "api/config", timeout=10) as response:
        ana = json.loads(response.read())["people"][0]["id"]
    for path, body, said in [
        ("api/people", b"name=Zoe", "the body is not JSON"),
        ("api/people", b"[1, 2]", "the body must be a JSON object"),
        ("api/people/abc/messages", b'{"text": "hi"}', "a person's id is a number (got 'abc')"),
        (f"api/people/{ana}/messages", b"hi", "the body is not JSON"),
        (f"api/people/{ana}/messages", b'{"photos": "x"}', "photos must be a list of the"),
        (f"api/people/{ana}/edit", b'{"message_id": "x", "text": "y"}', "message_id must be"),
        ("api/backend", b"", "the body must be a JSON object"),
    ]:
        status, answer = post_to_chat_page(demo, path, body)
        assert (status, said in answer["error"]) == (400, True), (path, body, answer)
    assert post_to_chat_page(demo, "api/people/999999/messages", b'{"text": "hi"}')[0] == 404


def test_a_streamed_answer_grows_as_a_draft_then_arrives_once(
    demo: RunningDemo, pages: Pages
) -> None:
    page = pages.open(demo.chat_url)
    eve = add_person(page, "Eve")
    page.locator('#backend-mode input[value="stream"]').check()
    say(eve, "tell me more")
    expect(eve.locator(".bubble.draft:not(.thinking)")).to_be_visible(timeout=WAIT_MS)
    first_draft = eve.locator(".bubble.draft .text").inner_text()
    expect(eve.locator(".bubble.reply")).to_have_count(1, timeout=WAIT_MS)
    expect(eve.locator(".bubble.draft")).to_have_count(0)
    final = eve.locator(".bubble.reply .text").inner_text()
    assert final.startswith(first_draft) and len(final) > len(first_draft)
    drafts = timeline(eve, "draft")
    assert drafts.count() >= 3, "the answer is written over about 4 s, 2 drafts a second"
    texts = drafts.evaluate_all("items => items.map(i => i.textContent)")
    # "Thinking…" shows until the first piece, unless the piece came first (this backend
    # streams at once); the answer's drafts only grow.
    written = [text for text in texts if not text.endswith("draft: Thinking…")]
    assert written == sorted(written, key=len)
    page.locator('#backend-mode input[value="normal"]').check()


def test_thinking_then_reasoning_then_stop_in_the_draft(demo: RunningDemo, pages: Pages) -> None:
    """Bot API 10.x's answer in progress as the page shows it: "Thinking…", the model's
    reasoning in a block above the answer, and a Stop button that cancels the answer."""
    page = pages.open(demo.chat_url)
    zed = add_person(page, "Zed")
    page.locator('#backend-mode input[value="reason"]').check()
    say(zed, "tell me more")
    expect(zed.locator(".bubble.draft.thinking")).to_be_visible(timeout=WAIT_MS)
    expect(zed.locator(".bubble.draft .reasoning")).to_be_visible(timeout=WAIT_MS)
    reasoning = zed.locator(".bubble.draft .reasoning").inner_text()
    assert REASONING.startswith(reasoning.strip()), reasoning
    expect(zed.locator(".bubble.draft:not(.thinking)")).to_be_visible(timeout=WAIT_MS)
    assert REASONING not in zed.locator(".bubble.draft .text").inner_text()
    zed.locator(".bubble.draft .stop").click()
    expect(timeline(zed, "abandoned")).to_contain_text("stopped by the person", timeout=WAIT_MS)
    expect(zed.locator(".bubble.note .text")).to_have_text("you stopped the answer")
    expect(zed.locator(".bubble.draft")).to_have_count(0)
    expect(zed.locator(".bubble.reply")).to_have_count(0)  # the answer never arrives
    page.locator('#backend-mode input[value="normal"]').check()


def test_a_voice_note_shows_transcribing_then_its_words_and_the_answer_has_them(
    demo: RunningDemo, pages: Pages
) -> None:
    """The sandbox's real OGG/Opus note, heard by a worker while the batch waits."""
    page = pages.open(demo.chat_url)
    ula = add_person(page, "Ula")
    ula.locator(".voice").click()
    words = ula.locator(".bubble.voice .text")
    expect(words).to_have_text("transcribing…", timeout=WAIT_MS)
    expect(words).to_have_text(f"“{VOICE_NOTE_WORDS}”", timeout=WAIT_MS)
    expect(timeline(ula, "transcript")).to_contain_text("transcript stored on the waiting message")
    expect(ula.locator(".bubble.reply")).to_contain_text(VOICE_NOTE_WORDS, timeout=WAIT_MS)


@pytest.mark.parametrize(
    ("channel", "prefix"), [("whatsapp", "wa:"), ("instagram", "ig:"), ("messenger", "fb:")]
)
def test_a_person_on_another_channel_gets_one_answer_there(
    demo: RunningDemo, pages: Pages, channel: str, prefix: str
) -> None:
    """The same page, the same bot and workers: the burst goes in through that channel's
    stand-in (signed deliveries) and the answer comes back through its send API."""
    page = pages.open(demo.chat_url)
    name = f"Gil-{channel}"
    gil = add_person(page, name, channel)
    expect(gil.locator(".channel")).to_have_text(channel.capitalize().replace("app", "App"))
    conversation = gil.get_attribute("data-conversation") or ""
    assert conversation.startswith(prefix)
    for text in ("hi", "are you open on sunday?"):
        say(gil, text)
    gil.locator(".photo").click()
    gil.locator('.samples img[data-name="sample-haircut"]').click()
    say(gil, "like this")
    expect(gil.locator(".bubble.reply")).to_have_count(1, timeout=WAIT_MS)
    expect(gil.locator(".bubble.reply")).to_contain_text("+ 1 photo: hi / are you open on sunday?")
    expect(gil.locator(".bubble.mine .edit")).to_have_count(0)  # no edits off Telegram
    expect(timeline(gil, "backend")).to_have_count(1)
    expect(timeline(gil, "typing").first).to_be_visible()
    details = gil.locator("details.backend-json")
    details.locator("summary").click()
    assert json.loads(details.locator("pre").inner_text())["channel"] == channel


def test_a_slow_backend_shows_as_a_batch_in_flight_in_the_console(
    demo: RunningDemo, pages: Pages
) -> None:
    chat = pages.open(demo.chat_url)
    fay = add_person(chat, "Fay")
    conversation = fay.get_attribute("data-person")
    console = pages.open(demo.console_url)
    expect(console.locator("#total-workers")).to_have_text("2", timeout=WAIT_MS)
    chat.locator('#backend-mode input[value="slow"]').check()
    say(fay, "still there?")
    waiting = console.locator(f'tr.pending-row:has(code:text-is("{conversation}"))')
    expect(waiting.locator(".deadline-bar")).to_be_visible(timeout=WAIT_MS)
    running = console.locator(f'tr.in-flight-row:has(code:text-is("{conversation}"))')
    expect(running.locator(".step")).to_have_text("asking the backend", timeout=WAIT_MS)
    console.screenshot(path=SCREENSHOTS / "console-with-a-batch-in-flight.png")
    expect(fay.locator(".bubble.reply")).to_have_count(1, timeout=WAIT_MS)
    expect(running).to_have_count(0, timeout=WAIT_MS)
    chat.locator('#backend-mode input[value="normal"]').check()


def test_a_message_during_a_slow_backend_call_supersedes_it_one_answer_to_both(
    demo: RunningDemo, pages: Pages
) -> None:
    chat = pages.open(demo.chat_url)
    ida = add_person(chat, "Ida")
    chat.locator('#backend-mode input[value="slow"]').check()
    say(ida, "book me at 5")
    expect(timeline(ida, "backend")).to_have_count(1, timeout=WAIT_MS)
    say(ida, "actually 6")
    expect(timeline(ida, "abandoned")).to_contain_text("superseded", timeout=WAIT_MS)
    expect(ida.locator(".bubble.reply")).to_have_count(1, timeout=WAIT_MS)
    expect(ida.locator(".bubble.reply")).to_contain_text("I got your 2 message(s)")
    expect(timeline(ida, "done")).to_have_count(1, timeout=WAIT_MS)
    expect(ida.locator(".bubble.reply")).to_have_count(1)
    chat.locator('#backend-mode input[value="normal"]').check()


def test_the_owner_writes_the_assistant_steps_back_and_remembers_after_resume(
    demo: RunningDemo, pages: Pages
) -> None:
    """On WhatsApp the owner's message reaches the bot as the Business app's echo. The
    customer's messages meanwhile are for the owner; after Resume, the next one is
    answered with what was said in the history."""
    chat = pages.open(demo.chat_url)
    hal = add_person(chat, "Hal", "whatsapp")
    conversation = hal.get_attribute("data-conversation") or ""
    say(hal, "do you deliver?")
    expect(timeline(hal, "stored")).to_have_count(1, timeout=WAIT_MS)
    hal.locator(".message-input").fill("Yes! Sam from the shop here")
    hal.locator(".owner-writes").click()
    expect(hal.locator(".bubble.owner")).to_have_text(re.compile("Sam from the shop"))
    expect(timeline(hal, "paused")).to_have_count(1, timeout=WAIT_MS)
    say(hal, "great, to 5th avenue?")
    console = pages.open(demo.console_url)
    paused = console.locator(f'tr.paused-row[data-conversation="{conversation}"]')
    expect(paused.locator("td").nth(2)).to_have_text("3", timeout=WAIT_MS)
    console.screenshot(path=SCREENSHOTS / "console-with-a-conversation-taken-over.png")
    hal.locator(".resume").click()
    expect(timeline(hal, "resumed")).to_have_count(1, timeout=WAIT_MS)
    expect(paused).to_have_count(0, timeout=WAIT_MS)
    say(hal, "and on sundays?")
    expect(hal.locator(".bubble.reply")).to_have_count(1, timeout=WAIT_MS)
    expect(hal.locator(".bubble.reply")).to_contain_text("I got your 1 message(s)")
    expect(timeline(hal, "backend")).to_have_count(1)
    details = hal.locator("details.backend-json")
    details.locator("summary").click()
    history = json.loads(details.locator("pre").inner_text())["history"]
    assert [(t["role"], t.get("by"), t["text"]) for t in history] == [
        ("user", None, "do you deliver?"),
        ("assistant", "human", "Yes! Sam from the shop here"),
        ("user", None, "great, to 5th avenue?"),
    ]


def test_an_album_and_an_edit_before_the_pause_make_one_batch(
    demo: RunningDemo, pages: Pages
) -> None:
    page = pages.open(demo.chat_url)
    dee = add_person(page, "Dee")
    say(dee, "which one for tomorow?")
    dee.locator(".bubble.mine .edit").click()
    say(dee, "which one for tomorrow?")
    expect(dee.locator(".bubble.mine .meta")).to_contain_text("edited")
    dee.locator(".photo").click()
    dee.locator('.samples img[data-name="sample-sunset"]').click()
    dee.locator('.samples img[data-name="sample-cat"]').click()
    say(dee, "these two")
    expect(dee.locator(".bubble.reply")).to_have_count(1, timeout=WAIT_MS)
    expect(dee.locator(".bubble.reply")).to_contain_text("3 message(s) + 2 photo")
    details = dee.locator("details.backend-json")
    details.locator("summary").click()
    sent = json.loads(details.locator("pre").inner_text())
    assert [m.get("text") or m.get("caption") for m in sent["messages"]] == [
        "which one for tomorrow?",
        None,
        "these two",
    ]
    say(dee, "/clear")
    expect(dee.locator(".bubble.reply")).to_have_count(2, timeout=WAIT_MS)


def test_a_dead_letter_shows_in_the_console_and_is_replayed_only_with_the_token(
    demo: RunningDemo, pages: Pages
) -> None:
    chat = pages.open(demo.chat_url)
    chat.locator('#backend-mode input[value="fail"]').check()
    cai = add_person(chat, "Cai")
    say(cai, "are you open on sunday?")
    expect(timeline(cai, "dead-letter")).to_have_count(1, timeout=WAIT_MS)
    expect(cai.locator(".bubble.reply")).to_contain_text("Sorry, I can't answer right now")
    chat.locator('#backend-mode input[value="normal"]').check()
    conversation = cai.get_attribute("data-person")

    console = pages.open(demo.console_url)
    letter = console.locator(f'tr.dead-letter:has(code:text-is("{conversation}"))')
    expect(letter).to_contain_text("retry budget spent", timeout=WAIT_MS)
    letter.locator("button.show").click()
    expect(console.locator("pre.letter-json")).to_contain_text("are you open on sunday?")
    # The rates count per minute inside the scripts: messages came in, retries failed.
    assert int(console.locator("#rate-in").get_attribute("data-total") or 0) >= 1
    assert int(console.locator("#rate-errors").get_attribute("data-total") or 0) >= 2
    console.screenshot(path=SCREENSHOTS / "console-with-a-dead-letter.png")

    letter.locator("button.replay").click()
    expect(console.locator("#action-result")).to_contain_text("needs the console token")
    console.locator("#token").fill("not-the-token-at-all")
    console.locator("#token-form button").click()  # checked as it is entered, not kept
    expect(console.locator("#action-result")).to_have_text("Token not kept: wrong console token")
    letter.locator("button.replay").click()
    expect(console.locator("#action-result")).to_contain_text("needs the console token")
    expect(letter).to_have_count(1)

    console.locator("#token").fill(demo.console_token)
    console.locator("#token-form button").click()
    expect(console.locator("#action-result")).to_contain_text("Token accepted for this tab")
    letter.locator("button.replay").click()
    expect(console.locator("#action-result")).to_contain_text("1 message(s) queued again")
    expect(letter).to_have_count(0, timeout=WAIT_MS)
    expect(cai.locator(".bubble.reply").last).to_contain_text(
        "I got your 1 message(s): are you open on sunday?", timeout=WAIT_MS
    )
    assert any("console: replay of dead letter" in line for line in demo.output)


def test_a_busy_port_is_one_line_naming_the_option() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        finished = subprocess.run(
            [sys.executable, "-m", "sandbox", "--web", "--port", "0", "--console-port", port],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert finished.returncode == 1
    assert finished.stderr.strip() == (
        f"demo: cannot listen on 127.0.0.1:{port} (Address already in use); "
        "choose another with --console-port (0 takes any free port)"
    )


def test_an_unreachable_redis_url_is_one_line_before_anything_starts() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
        finished = subprocess.run(
            [sys.executable, "-m", "sandbox", "--web", "--port", "0", "--console-port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "REDIS_URL": url},
        )
    assert finished.returncode == 1
    [line] = finished.stderr.splitlines()
    assert line.startswith(f"demo: REDIS_URL {url} cannot be reached (ConnectionError")
    assert line.endswith("start Redis there, or unset REDIS_URL and the demo starts its own")
