"""The stand-ins' HTTP app: /stripe, /intercom and /posthog, plus /_sandbox to steer them."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from connectors.sandbox import chat, trackers
from connectors.sandbox import data as sandbox_data
from connectors.sandbox.hogql import HogQLError, translate

STRIPE_LISTS = {"events", "subscriptions", "invoices", "refunds"}


@dataclass
class Fault:
    """An injected failure: ``times`` matching requests (after skipping ``after``) fail."""

    service: str
    status: int = 500
    times: int = 1
    after: int = 0
    path: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    seen: int = 0


@dataclass
class SandboxState:
    data: sandbox_data.SandboxData
    faults: list[Fault] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    requests: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    db: sqlite3.Connection | None = None
    trackers: trackers.TrackerState = field(default_factory=trackers.TrackerState.fresh)
    messages: list[dict[str, str]] = field(default_factory=list)
    _stripe_sorted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stripe_positions: dict[str, dict[str, int]] = field(default_factory=dict)

    def stripe_sorted(self, resource: str) -> list[dict[str, Any]]:
        """The resource's objects newest first, sorted again only when it changed."""
        rows = self.data.stripe.get(resource, [])
        cached = self._stripe_sorted.get(resource)
        if cached is None or len(cached) != len(rows):
            cached = sorted(rows, key=lambda r: (_created_of(r), str(r.get("id"))), reverse=True)
            self._stripe_sorted[resource] = cached
            self.stripe_positions[resource] = {str(r.get("id")): i for i, r in enumerate(cached)}
        return cached

    def load_posthog(self) -> None:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute(
            "CREATE TABLE events (uuid TEXT, event TEXT, timestamp TEXT, distinct_id TEXT, "
            "properties TEXT, person_id TEXT)"
        )
        db.execute("CREATE INDEX ix_events_ts ON events (timestamp, uuid)")
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            [
                (u, e, t, d, json.dumps({"$pathname": p, "$screen_name": s}), d)
                for u, e, t, d, p, s in self.data.posthog_events
            ],
        )
        db.commit()
        self.db = db


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox


async def _gate(request: Request, service: str, key: str) -> Response | None:
    """Count the request, check its key, then apply any injected fault."""
    state = _state(request)
    with state.lock:
        state.requests[service] = state.requests.get(service, 0) + 1
    return _authorised(request, service, key) or await _fault_for(request, service)


async def _fault_for(request: Request, service: str) -> Response | None:
    state = _state(request)
    with state.lock:
        chosen = None
        for fault in state.faults:
            if fault.service != service or fault.path not in request.url.path or fault.times <= 0:
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            fault.times -= 1
            chosen = fault
            break
    if chosen is None:
        return None
    if chosen.delay:
        await asyncio.sleep(chosen.delay)
    if chosen.status == 200:
        return None
    headers = {"Retry-After": f"{chosen.retry_after:g}"} if chosen.retry_after is not None else {}
    return _error(service, chosen.status, "injected fault", headers)


def _error(
    service: str, status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    if service == "stripe":
        kind = (
            "rate_limit_error"
            if status == 429
            else "api_error"
            if status >= 500
            else "invalid_request_error"
        )
        body: dict[str, Any] = {"error": {"type": kind, "message": message}}
    elif service == "intercom":
        code = {401: "unauthorized", 404: "not_found", 429: "rate_limit_exceeded"}.get(
            status, "server_error" if status >= 500 else "parameter_invalid"
        )
        body = {
            "type": "error.list",
            "request_id": None,
            "errors": [{"code": code, "message": message}],
        }
    else:
        body = {
            "type": "authentication_error" if status == 401 else "validation_error",
            "code": str(status),
            "detail": message,
            "attr": None,
        }
    return JSONResponse(body, status_code=status, headers=headers or {})


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if header.lower().startswith("basic "):
        try:
            return base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except ValueError:
            return None
    return None


def _authorised(request: Request, service: str, key: str) -> JSONResponse | None:
    given = _bearer(request)
    if given != key or key in _state(request).revoked:
        shown = (given or "")[:8] + "****"
        return _error(
            service,
            401,
            f"Invalid API Key provided: {shown}" if service == "stripe" else "Access Token Invalid",
        )
    return None


# Stripe ---------------------------------------------------------------------------------------


def _created_of(row: dict[str, Any]) -> int:
    value = row.get("created")
    if isinstance(value, int):
        return value
    return int(str(value)) if str(value).isdigit() else 0


def _created_filter(params: Any) -> tuple[int | None, int | None]:
    """``created[gte|gt]`` and ``created[lt|lte]`` as an inclusive low and exclusive high."""
    gte = params.get("created[gte]")
    gt = params.get("created[gt]")
    lt = params.get("created[lt]")
    lte = params.get("created[lte]")
    low = int(gte) if gte is not None else (int(gt) + 1 if gt is not None else None)
    high = int(lt) if lt is not None else (int(lte) + 1 if lte is not None else None)
    return low, high


async def stripe_list(request: Request) -> Response:
    resource = request.path_params["resource"]
    if resource not in STRIPE_LISTS:
        return _error("stripe", 404, f"Unrecognized request URL (GET: /v1/{resource}).")
    denied = await _gate(request, "stripe", sandbox_data.STRIPE_KEY)
    if denied:
        return denied
    params = request.query_params
    try:
        limit = int(params.get("limit", "10"))
        low, high = _created_filter(params)
    except ValueError:
        return _error("stripe", 400, "Invalid integer")
    if not 1 <= limit <= 100:
        return _error("stripe", 400, "Invalid limit: must be between 1 and 100")
    state = _state(request)
    ordered = state.stripe_sorted(resource)
    status = params.get("status")
    # The events API filters by `type` (one type, or a prefix ending in `.*`) and `types[]`.
    types = set(params.getlist("types[]"))
    if params.get("type"):
        types.add(params["type"])
    start = 0
    starting_after = params.get("starting_after")
    if starting_after:
        position = state.stripe_positions[resource].get(starting_after)
        if position is None:
            return _error("stripe", 400, f"No such object: '{starting_after}'")
        start = position + 1
    matching: list[dict[str, Any]] = []
    # Newest first: walk down until past the created bound, keeping one more than a page.
    for row in ordered[start:]:
        if low is not None and _created_of(row) < low:
            break
        if high is not None and _created_of(row) >= high:
            continue
        if types and not any(
            row.get("type") == t or (t.endswith(".*") and str(row.get("type")).startswith(t[:-1]))
            for t in types
        ):
            continue
        if (
            status is None
            or (row.get("data", {}).get("object", row)).get("status", status) == status
        ):
            matching.append(row)
            if len(matching) > limit:
                break
    page = matching[:limit]
    return JSONResponse(
        {
            "object": "list",
            "data": page,
            "has_more": len(matching) > limit,
            "url": f"/v1/{resource}",
        }
    )


# Intercom -------------------------------------------------------------------------------------

_OPS = {
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _matches(conversation: dict[str, Any], query: dict[str, Any]) -> bool:
    if (
        "value" in query
        and isinstance(query["value"], list)
        and query.get("operator") in ("AND", "OR")
    ):
        results = [_matches(conversation, q) for q in query["value"]]
        return all(results) if query["operator"] == "AND" else any(results)
    field_name, op, value = query.get("field"), query.get("operator"), query.get("value")
    if field_name not in ("updated_at", "created_at", "id") or op not in _OPS:
        raise ValueError(f"unsupported search filter {field_name} {op}")
    actual = conversation.get(field_name)
    if field_name != "id":
        try:
            actual, value = int(actual), int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return bool(_OPS[op](actual, value))


def _intercom_headers(state: SandboxState) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "10000",
        "X-RateLimit-Remaining": "9999",
        "X-RateLimit-Reset": str(int(time.time()) + 10),
    }


async def intercom_search(request: Request) -> Response:
    denied = await _gate(request, "intercom", sandbox_data.INTERCOM_TOKEN)
    if denied:
        return denied
    try:
        body = await request.json()
        query = body["query"]
        pagination = body.get("pagination") or {}
        per_page = int(pagination.get("per_page", 20))
    except (ValueError, KeyError, TypeError):
        return _error("intercom", 400, "Request body must be a search_request with a query")
    if not 1 <= per_page <= 150:
        return _error("intercom", 400, "per_page must be between 1 and 150")
    state = _state(request)
    try:
        found = [c for c in state.data.conversations.values() if _matches(c, query)]
    except ValueError as error:
        return _error("intercom", 400, str(error))
    found.sort(key=lambda c: (str(c.get("updated_at")), int(c["id"])))
    cursor = pagination.get("starting_after")
    if cursor:
        try:
            last_updated, last_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        except ValueError:
            return _error("intercom", 400, "starting_after is not a valid cursor")
        found = [
            c
            for c in found
            if (str(c.get("updated_at")), int(c["id"])) > (last_updated, int(last_id))
        ]
    page = found[:per_page]
    listed = [{k: v for k, v in c.items() if k != "conversation_parts"} for c in page]
    pages: dict[str, Any] = {
        "type": "pages",
        "page": 1,
        "per_page": per_page,
        "total_pages": max(1, -(-len(found) // per_page)),
    }
    if len(found) > per_page:
        last = page[-1]
        token = base64.urlsafe_b64encode(f"{last.get('updated_at')}:{last['id']}".encode()).decode()
        pages["next"] = {"per_page": per_page, "starting_after": token}
    body = {
        "type": "conversation.list",
        "conversations": listed,
        "total_count": len(found),
        "pages": pages,
    }
    return JSONResponse(body, headers=_intercom_headers(state))


async def intercom_conversation(request: Request) -> Response:
    denied = await _gate(request, "intercom", sandbox_data.INTERCOM_TOKEN)
    if denied:
        return denied
    state = _state(request)
    conversation = state.data.conversations.get(request.path_params["conversation_id"])
    if conversation is None:
        return _error("intercom", 404, "Resource Not Found")
    if request.query_params.get("display_as") == "plaintext":
        conversation = json.loads(json.dumps(conversation).replace("<p>", "").replace("</p>", ""))
    return JSONResponse(conversation, headers=_intercom_headers(state))


# PostHog --------------------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 26 and value[10] == " " and value[4] == "-":
        return value.replace(" ", "T") + "Z"
    return value


async def posthog_query(request: Request) -> Response:
    denied = await _gate(request, "posthog", sandbox_data.POSTHOG_KEY)
    if denied:
        return denied
    if request.path_params["project_id"] != sandbox_data.POSTHOG_PROJECT:
        return _error("posthog", 404, "Project not found.")
    try:
        body = await request.json()
        query = body["query"]
        if query.get("kind") != "HogQLQuery":
            raise HogQLError("only HogQLQuery is supported by the sandbox")
        sql = translate(query["query"])
    except (ValueError, KeyError, TypeError) as error:
        return _error("posthog", 400, f"Query error: {error}")
    state = _state(request)
    assert state.db is not None
    try:
        with state.lock:
            cursor = state.db.execute(sql)
            rows = cursor.fetchall()
            columns = [d[0] for d in cursor.description]
    except sqlite3.Error as error:
        return _error("posthog", 400, f"Query error: {error}")
    results = []
    for row in rows:
        cells = [_iso(v) for v in row]
        broken = state.data.broken_rows.get(row[0]) if row and isinstance(row[0], str) else None
        for index, value in (broken or {}).items():
            if index < len(cells):
                cells[index] = value
        results.append(cells)
    return JSONResponse(
        {"results": results, "columns": columns, "hasMore": False, "is_cached": False}
    )


async def posthog_capture(request: Request) -> Response:
    """The capture endpoint the posthog SDK sends batches to (project API key in the body)."""
    raw = await request.body()
    if request.headers.get("content-encoding") == "gzip" or raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        body = json.loads(raw)
    except ValueError:
        return JSONResponse({"status": 0, "detail": "invalid JSON"}, status_code=400)
    if body.get("api_key") != sandbox_data.POSTHOG_PROJECT_KEY:
        return JSONResponse(
            {"type": "authentication_error", "detail": "Project API key invalid."}, status_code=401
        )
    state = _state(request)
    rows = []
    all_props = []
    for event in body.get("batch", []):
        moment = datetime.fromisoformat(
            str(event.get("timestamp")).replace("Z", "+00:00")
        ).astimezone(UTC)
        props = event.get("properties") or {}
        all_props.append(props)
        rows.append(
            (
                event.get("uuid") or "",
                event.get("event"),
                moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
                event.get("distinct_id"),
                props.get("$pathname"),
                props.get("$screen_name"),
            )
        )
    with state.lock:
        state.data.posthog_events.extend(rows)
        assert state.db is not None
        # Every property is kept, so queries can filter on any of them.
        state.db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            [
                (u, e, t, d, json.dumps(props), d)
                for (u, e, t, d, _, _), props in zip(rows, all_props, strict=True)
            ],
        )
        state.db.commit()
    return JSONResponse({"status": 1})


# Control --------------------------------------------------------------------------------------


async def control_reset(request: Request) -> Response:
    options = await request.json() if await request.body() else {}
    now = options.pop("now", None)
    data = sandbox_data.generate(now=datetime.fromisoformat(now) if now else None, **options)
    state = _state(request)
    with state.lock:
        state.data = data
        state._stripe_sorted.clear()
        state.faults.clear()
        state.revoked.clear()
        state.requests.clear()
        state.trackers = trackers.TrackerState.fresh()
        state.messages.clear()
        state.load_posthog()
    return JSONResponse(
        {
            "conversations": len(data.conversations),
            "stripe_events": len(data.stripe["events"]),
            "posthog_events": len(data.posthog_events),
        }
    )


async def control_fault(request: Request) -> Response:
    fault = Fault(**(await request.json()))
    state = _state(request)
    with state.lock:
        state.faults.append(fault)
    return JSONResponse({"queued": len(state.faults)})


async def control_revoke(request: Request) -> Response:
    body = await request.json()
    keys = {
        "stripe": sandbox_data.STRIPE_KEY,
        "intercom": sandbox_data.INTERCOM_TOKEN,
        "posthog": sandbox_data.POSTHOG_KEY,
        "linear": trackers.LINEAR_KEY,
        "jira": trackers.JIRA_TOKEN,
    }
    state = _state(request)
    with state.lock:
        if body.get("revoke", True):
            state.revoked.add(keys[body["service"]])
        else:
            state.revoked.discard(keys[body["service"]])
    return JSONResponse({"revoked": sorted(state.revoked)})


async def control_conversation(request: Request) -> Response:
    """Add or update a conversation: {"id", "text", "updated_at"}."""
    body = await request.json()
    state = _state(request)
    with state.lock:
        conversation_id = str(
            body.get("id") or (max((int(k) for k in state.data.conversations), default=0) + 1)
        )
        now = int(body.get("updated_at") or time.time())
        existing = state.data.conversations.get(conversation_id)
        if existing is None:
            existing = sandbox_data._conversation(
                int(conversation_id),
                body.get("text", "New question"),
                now - 30,
                now,
                random.Random(conversation_id),
            )
        else:
            parts = existing["conversation_parts"]["conversation_parts"]
            parts.append(
                sandbox_data._part(
                    f"{conversation_id}{len(parts) + 10}",
                    "comment",
                    "user",
                    body.get("text", "One more thing"),
                    now,
                )
            )
            existing["conversation_parts"]["total_count"] = len(parts)
            existing["updated_at"] = now
        state.data.conversations[conversation_id] = existing
    return JSONResponse({"id": conversation_id, "updated_at": existing["updated_at"]})


async def control_stripe_event(request: Request) -> Response:
    """Add a Stripe event: {"type", "object", "created"}."""
    body = await request.json()
    state = _state(request)
    event = sandbox_data.stripe_event(
        body["type"], body["object"], int(body.get("created") or time.time()), random.Random()
    )
    with state.lock:
        state.data.stripe["events"].append(event)
    return JSONResponse(event)


async def control_stats(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(
        {"requests": state.requests, "faults_left": sum(f.times for f in state.faults)}
    )


def create_app(data: sandbox_data.SandboxData | None = None) -> Starlette:
    """Build the stand-ins' app around ``data`` (default: the demo data)."""
    app = Starlette(
        routes=[
            Mount("/stripe", routes=[Route("/v1/{resource}", stripe_list, methods=["GET"])]),
            Mount(
                "/intercom",
                routes=[
                    Route("/conversations/search", intercom_search, methods=["POST"]),
                    Route(
                        "/conversations/{conversation_id}", intercom_conversation, methods=["GET"]
                    ),
                ],
            ),
            Mount(
                "/posthog",
                routes=[
                    Route("/api/projects/{project_id}/query/", posthog_query, methods=["POST"]),
                    Route("/batch/", posthog_capture, methods=["POST"]),
                ],
            ),
            Mount(
                "/linear", routes=[Route("/graphql", trackers.linear_endpoint, methods=["POST"])]
            ),
            Mount(
                "/jira",
                routes=[
                    Route("/rest/api/3/serverInfo", trackers.jira_server_info, methods=["GET"]),
                    Route("/rest/api/3/field", trackers.jira_fields, methods=["GET"]),
                    Route("/rest/api/3/project/{key}", trackers.jira_project, methods=["GET"]),
                    Route("/rest/api/3/issue", trackers.jira_create_issue, methods=["POST"]),
                    Route("/rest/api/3/issue/{key}", trackers.jira_get_issue, methods=["GET"]),
                    Route(
                        "/rest/api/3/issue/{key}/remotelink",
                        trackers.jira_remote_links,
                        methods=["GET", "POST"],
                    ),
                    Route("/rest/api/3/search/jql", trackers.jira_search, methods=["GET", "POST"]),
                    Route(
                        "/rest/applinks/latest/listApplicationlinks",
                        trackers.jira_applinks,
                        methods=["GET"],
                    ),
                ],
            ),
            Mount(
                "/slack",
                routes=[Route("/services/{team}/{bot}/{token}", chat.slack_hook, methods=["POST"])],
            ),
            Mount(
                "/discord",
                routes=[
                    Route("/api/webhooks/{hook_id}/{token}", chat.discord_hook, methods=["POST"])
                ],
            ),
            Mount(
                "/_sandbox",
                routes=[
                    Route("/messages", chat.control_messages, methods=["GET"]),
                    Route("/reset", control_reset, methods=["POST"]),
                    Route("/faults", control_fault, methods=["POST"]),
                    Route("/keys", control_revoke, methods=["POST"]),
                    Route("/intercom/conversations", control_conversation, methods=["POST"]),
                    Route("/stripe/events", control_stripe_event, methods=["POST"]),
                    Route("/stats", control_stats, methods=["GET"]),
                    Route("/trackers", trackers.control_trackers, methods=["GET"]),
                    Route(
                        "/linear/issues/{issue_id}/state",
                        trackers.control_linear_state,
                        methods=["POST"],
                    ),
                    Route(
                        "/jira/issues/{key}/status", trackers.control_jira_status, methods=["POST"]
                    ),
                    Route(
                        "/jira/projects/{key}",
                        trackers.control_jira_delete_project,
                        methods=["DELETE"],
                    ),
                ],
            ),
        ]
    )
    state = SandboxState(data=data or sandbox_data.generate())
    state.load_posthog()
    app.state.sandbox = state
    return app
