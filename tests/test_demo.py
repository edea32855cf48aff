"""The terminal demo as a new user runs it (``./scripts/demo`` is ``python -m sandbox``):
each scene keeps its own story (Bea's WhatsApp burst and Ivy's Instagram one are answered
about their messages, not with the previous scene's streamed advice), ``--interactive``
answers the last burst before it ends at Ctrl-D, and ``--web`` refuses options it would
ignore."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_SECONDS = 120


async def run_demo(*args: str, stdin: bytes | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        *args,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(DEMO_SECONDS):
        output, _ = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_the_demo_tells_each_scene_with_its_own_answers() -> None:
    code, output = await run_demo()
    assert code == 0, output[-3000:]
    [whatsapp] = [line for line in output.splitlines() if "WhatsApp → 14155550199" in line]
    assert "Hi Bea! I got your 3 message(s): hola / do you do beards too?" in whatsapp
    assert "Wash it" not in whatsapp
    assert "Wash it every other day" in output  # the streamed scene still had its advice
    changed = "I got your 2 message(s): book me for friday at 5 / no wait, 6 is better"
    answers = [line for line in output.splitlines() if "Telegram ← bot to chat 1001: 'Hi" in line]
    [supersede] = [line for line in answers if "book me for friday" in line]
    assert changed in supersede  # one answer to both, never one to the first alone
    [cal] = [line for line in output.splitlines() if "WhatsApp → 14155550177" in line]
    assert "I got your 1 message(s): do you take cards?" in cal  # not what Sam dealt with
    assert "the backend got 0" in output
    [instagram] = [line for line in output.splitlines() if "Instagram → 6100000000000001" in line]
    assert "I got your 3 message(s): hey! / saw your reel / how much for a fade?" in instagram


async def test_interactive_answers_the_last_burst_before_ending_at_ctrl_d() -> None:
    code, output = await run_demo("--interactive", stdin=b"is anyone there?\n")
    assert code == 0, output[-3000:]
    assert "its answer comes before the demo ends" in output
    answer = "Telegram ← bot to chat 1001: 'Hi Ana! I got your 1 message(s): is anyone there?'"
    assert answer in output, output[-3000:]
    assert output.index(answer) < output.index("Done.")


async def test_web_refuses_options_it_would_ignore() -> None:
    code, output = await run_demo("--web", "--openai")
    assert code == 2
    assert "leave out --openai" in output and "Traceback" not in output
