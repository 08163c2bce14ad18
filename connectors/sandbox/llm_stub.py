"""An OpenAI-compatible chat endpoint on loopback, for testing and measuring the LLM path.

It reads journeyops' prompt (numbered steps S1.., numbered signals #1..), places each signal
on the step sharing most words with it, and answers in the chat-completions shape with token
usage counted the way OpenAI counts. Faults (malformed answers, errors, slow answers) can be
queued at /_stub/faults.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

STEP_LINE = re.compile(r"^S(\d+)\. (.*)$")
SIGNAL_LINE = re.compile(r"^#(\d+): (.*)$")
STOP = {"customer", "the", "and", "with", "from", "that", "this", "your", "have", "what"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3 and w not in STOP}


def answer(prompt: str) -> dict[str, Any]:
    """Place each signal of the prompt on the step it shares most words with."""
    steps: dict[int, set[str]] = {}
    signals: dict[int, set[str]] = {}
    current: int | None = None
    for line in prompt.splitlines():
        if match := STEP_LINE.match(line):
            current = int(match.group(1))
            steps[current] = _words(match.group(2))
        elif line.strip().startswith("e.g.") and current is not None:
            steps[current] |= _words(line)
        elif match := SIGNAL_LINE.match(line):
            signals[int(match.group(1))] = _words(match.group(2))
    placements = []
    for number, words in sorted(signals.items()):
        scored = sorted(
            ((len(words & step_words), step) for step, step_words in steps.items()), reverse=True
        )
        best, step = scored[0] if scored else (0, 0)
        confidence = 0.95 if best >= 2 else 0.75 if best == 1 else 0.3
        placements.append({"signal": number, "step": step if best else 0, "confidence": confidence})
    return {"placements": placements}


PROPOSAL_SIGNAL = re.compile(r"^\[S(\d+)\] (.*)$")


def propose(prompt: str) -> dict[str, Any]:
    """Answer "what should change on this journey": an insight on each of the two steps with
    the most signals."""
    names: dict[int, str] = {}
    counts: dict[int, int] = {}
    for line in prompt.splitlines():
        if match := STEP_LINE.match(line):
            names[int(match.group(1))] = match.group(2)
        elif match := PROPOSAL_SIGNAL.match(line):
            counts[int(match.group(1))] = counts.get(int(match.group(1)), 0) + 1
    busiest = sorted(counts, key=lambda step: (-counts[step], step))[:2]
    return {
        "proposals": [
            {
                "step": step,
                "type": "insight",
                "title": f"Customers report friction at {names.get(step, 'this step')}",
                "description": f"{counts[step]} recent signals on this step.",
            }
            for step in busiest
        ]
    }


def draft(prompt: str) -> str:
    """A free-text answer: the facts it was given, as bullets."""
    facts = [line for line in prompt.splitlines() if ":" in line][-6:]
    return "Journey update (drafted):\n" + "\n".join(f"- {line.strip()}" for line in facts)


class StubState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: list[dict[str, Any]] = []
        self.calls = 0
        self.prompt_tokens = 0


async def completions(request: Request) -> JSONResponse:
    state: StubState = request.app.state.stub
    body = await request.json()
    if request.headers.get("authorization", "") != "Bearer stub-key":
        return JSONResponse(
            {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
            status_code=401,
        )
    with state.lock:
        state.calls += 1
        fault = state.faults.pop(0) if state.faults else None
    if fault and fault.get("delay"):
        await asyncio.sleep(float(fault["delay"]))
    if fault and fault.get("kind") == "error":
        return JSONResponse(
            {"error": {"message": "The server had an error", "type": "server_error"}},
            status_code=500,
        )
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    shape = ((body.get("response_format") or {}).get("json_schema") or {}).get("name")
    if shape == "Proposals":
        content = json.dumps(propose(prompt))
    elif not body.get("response_format"):
        content = draft(prompt)
    else:
        content = json.dumps(answer(prompt))
    if fault and fault.get("kind") == "malformed":
        content = content[: len(content) // 2]
    from litellm import token_counter

    prompt_tokens = token_counter(model="gpt-4o-mini", messages=body.get("messages", []))
    completion_tokens = token_counter(model="gpt-4o-mini", text=content)
    with state.lock:
        state.prompt_tokens += prompt_tokens
    return JSONResponse(
        {
            "id": f"chatcmpl-stub-{state.calls}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


async def queue_fault(request: Request) -> JSONResponse:
    state: StubState = request.app.state.stub
    fault = await request.json()
    with state.lock:
        state.faults.extend([fault] * int(fault.get("times", 1)))
    return JSONResponse({"queued": len(state.faults)})


async def stats(request: Request) -> JSONResponse:
    state: StubState = request.app.state.stub
    return JSONResponse({"calls": state.calls, "prompt_tokens": state.prompt_tokens})


def create_stub_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/_stub/faults", queue_fault, methods=["POST"]),
            Route("/_stub/stats", stats, methods=["GET"]),
        ]
    )
    app.state.stub = StubState()
    return app
