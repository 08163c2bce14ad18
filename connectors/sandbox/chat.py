"""Slack and Discord incoming webhooks, as they answer: Slack ``ok`` or an error word,
Discord 204 or a JSON error. Posted messages are kept for ``GET /_sandbox/messages``."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

SLACK_PATH = "T0SANDBOX/B0SANDBOX/sandbox-slack-token"
DISCORD_PATH = "1100000000000000001/sandbox-discord-token"


def slack_url(base: str) -> str:
    return f"{base}/slack/services/{SLACK_PATH}"


def discord_url(base: str) -> str:
    return f"{base}/discord/api/webhooks/{DISCORD_PATH}"


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def _keep(request: Request, channel: str, text: str) -> None:
    state = request.app.state.sandbox
    with state.lock:
        state.messages.append({"channel": channel, "text": text})


async def slack_hook(request: Request) -> Response:
    from connectors.sandbox.app import _fault_for

    fault = await _fault_for(request, "slack")
    if fault is not None:
        return fault
    path = "/".join(request.path_params[name] for name in ("team", "bot", "token"))
    if path != SLACK_PATH:
        return PlainTextResponse("no_service", status_code=404)
    body = await _body(request)
    if not isinstance(body, dict):
        return PlainTextResponse("invalid_payload", status_code=400)
    if not str(body.get("text") or "").strip() and not body.get("blocks"):
        return PlainTextResponse("no_text", status_code=400)
    _keep(request, "slack", str(body.get("text") or ""))
    return PlainTextResponse("ok")


async def discord_hook(request: Request) -> Response:
    from connectors.sandbox.app import _fault_for

    fault = await _fault_for(request, "discord")
    if fault is not None:
        return fault
    if f"{request.path_params['hook_id']}/{request.path_params['token']}" != DISCORD_PATH:
        return JSONResponse({"message": "Invalid Webhook Token", "code": 50027}, status_code=401)
    body = await _body(request)
    if not isinstance(body, dict):
        return JSONResponse({"message": "Cannot send an empty message", "code": 50006}, 400)
    content = str(body.get("content") or "")
    if not content.strip():
        return JSONResponse({"message": "Cannot send an empty message", "code": 50006}, 400)
    if len(content) > 2000:
        return JSONResponse(
            {"message": "Invalid Form Body", "code": 50035,
             "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                 "message": "Must be 2000 or fewer in length."}]}}},
            status_code=400,
        )  # fmt: skip
    _keep(request, "discord", content)
    return Response(status_code=204)


async def control_messages(request: Request) -> Response:
    state = request.app.state.sandbox
    with state.lock:
        return JSONResponse({"messages": list(state.messages)})
