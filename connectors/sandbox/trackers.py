"""Linear (GraphQL) and Jira Cloud (REST v3) stand-ins, speaking the endpoints journeyops uses."""

from __future__ import annotations

import base64
import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, SelectionSetNode, parse
from graphql.utilities import value_from_ast_untyped
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

LINEAR_KEY = "lin_api_journeyops_sandbox"
JIRA_EMAIL = "ops@acme.example"
JIRA_TOKEN = "journeyops-sandbox-jira-token"
LINEAR_TEAMS = [("ENG", "Engineering"), ("GROWTH", "Growth")]
LINEAR_STATES = {
    "Todo": "unstarted",
    "In Progress": "started",
    "Done": "completed",
    "Canceled": "canceled",
}
JIRA_PROJECTS = [("OPS", "Operations"), ("ACT", "Activation")]
JIRA_STATUSES = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class TrackerState:
    linear_teams: dict[str, dict[str, Any]] = field(default_factory=dict)
    linear_issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    linear_attachments: list[dict[str, Any]] = field(default_factory=list)
    jira_projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    jira_issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    jira_links: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def fresh(cls) -> TrackerState:
        state = cls()
        for key, name in LINEAR_TEAMS:
            team_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"linear-team-{key}"))
            state.linear_teams[team_id] = {"id": team_id, "key": key, "name": name}
        for index, (key, name) in enumerate(JIRA_PROJECTS, start=10000):
            state.jira_projects[key] = {"id": str(index), "key": key, "name": name}
        return state


# Linear ---------------------------------------------------------------------------------------


class LinearError(Exception):
    def __init__(self, message: str, code: str = "INVALID_INPUT") -> None:
        super().__init__(message)
        self.code = code


def _project(value: Any, selection: SelectionSetNode | None) -> Any:
    """Keep only the selected fields of a resolved value, as GraphQL would."""
    if selection is None or value is None:
        return value
    if isinstance(value, list):
        return [_project(entry, selection) for entry in value]
    out: dict[str, Any] = {}
    for node in selection.selections:
        if not isinstance(node, FieldNode):
            raise LinearError("fragments are not served by the sandbox")
        name = node.name.value
        alias = node.alias.value if node.alias else name
        out[alias] = _project(value.get(name), node.selection_set)
    return out


def _issue_view(state: TrackerState, issue: dict[str, Any]) -> dict[str, Any]:
    team = state.linear_teams[issue["teamId"]]
    return {
        **issue,
        "team": team,
        "state": {"name": issue["stateName"], "type": LINEAR_STATES[issue["stateName"]]},
    }


def _linear_field(state: TrackerState, name: str, args: dict[str, Any]) -> Any:
    if name == "teams":
        key = ((args.get("filter") or {}).get("key") or {}).get("eq")
        nodes = [t for t in state.linear_teams.values() if key is None or t["key"] == key]
        return {"nodes": nodes[: args.get("first") or 50]}
    if name == "issueCreate":
        data = args["input"]
        team = state.linear_teams.get(data.get("teamId", ""))
        if team is None:
            raise LinearError("Entity not found: Team - could not find referenced Team.")
        issue_id = data.get("id") or str(uuid.uuid4())
        if issue_id in state.linear_issues:
            raise LinearError("An issue with this id already exists.", "INVALID_INPUT")
        number = sum(1 for i in state.linear_issues.values() if i["teamId"] == team["id"]) + 1
        identifier = f"{team['key']}-{number}"
        issue = {
            "id": issue_id,
            "identifier": identifier,
            "url": f"https://linear.app/sandbox/issue/{identifier.lower()}",
            "title": data.get("title") or "",
            "description": data.get("description"),
            "priority": data.get("priority", 0),
            "teamId": team["id"],
            "stateName": "Todo",
            "createdAt": _now(),
            "updatedAt": _now(),
            "completedAt": None,
        }
        state.linear_issues[issue_id] = issue
        return {"success": True, "issue": _issue_view(state, issue)}
    if name == "attachmentCreate":
        data = args["input"]
        target = state.linear_issues.get(data.get("issueId", ""))
        if target is None:
            raise LinearError("Entity not found: Issue - could not find referenced Issue.")
        for attachment in state.linear_attachments:
            if attachment["issueId"] == target["id"] and attachment["url"] == data["url"]:
                attachment.update(title=data.get("title"), subtitle=data.get("subtitle"))
                break
        else:
            attachment = {
                "id": str(uuid.uuid4()),
                "issueId": target["id"],
                "url": data["url"],
                "title": data.get("title"),
                "subtitle": data.get("subtitle"),
            }
            state.linear_attachments.append(attachment)
        return {"success": True, "attachment": attachment}
    if name == "attachmentsForURL":
        nodes = [
            {**a, "issue": _issue_view(state, state.linear_issues[a["issueId"]])}
            for a in state.linear_attachments
            if a["url"] == args["url"] and a["issueId"] in state.linear_issues
        ]
        return {"nodes": nodes[: args.get("first") or 50]}
    if name == "issue":
        found = state.linear_issues.get(args["id"])
        if found is None:
            raise LinearError("Entity not found: Issue - Could not find referenced Issue.")
        return _issue_view(state, found)
    if name == "issues":
        wanted = ((args.get("filter") or {}).get("id") or {}).get("in")
        nodes = [
            _issue_view(state, issue)
            for issue in state.linear_issues.values()
            if wanted is None or issue["id"] in wanted
        ]
        return {"nodes": nodes[: args.get("first") or 50]}
    raise LinearError(f"Cannot query field '{name}': not served by the sandbox.", "GRAPHQL_ERROR")


def linear_graphql(request_body: dict[str, Any], state: TrackerState) -> tuple[int, dict[str, Any]]:
    """Execute a request against the sandbox's Linear data; returns (status, body)."""
    try:
        document = parse(str(request_body.get("query") or ""))
    except GraphQLError as error:
        return 400, {
            "errors": [{"message": error.message, "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}]
        }
    variables = request_body.get("variables") or {}
    operation = next(
        (d for d in document.definitions if isinstance(d, OperationDefinitionNode)), None
    )
    if operation is None:
        return 400, {
            "errors": [
                {"message": "no operation", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
            ]
        }
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    with state.lock:
        for node in operation.selection_set.selections:
            if not isinstance(node, FieldNode):
                continue
            name = node.name.value
            alias = node.alias.value if node.alias else name
            args = {
                arg.name.value: value_from_ast_untyped(arg.value, variables)
                for arg in node.arguments or []
            }
            try:
                data[alias] = _project(_linear_field(state, name, args), node.selection_set)
            except LinearError as error:
                data[alias] = None
                errors.append(
                    {
                        "message": str(error),
                        "path": [alias],
                        "extensions": {"code": error.code, "userPresentableMessage": str(error)},
                    }
                )
    body: dict[str, Any] = {"data": data}
    if errors:
        body["errors"] = errors
    return 200, body


async def linear_endpoint(request: Request) -> Response:
    from connectors.sandbox.app import _fault_for, _state

    sandbox = _state(request)
    await request.body()  # read whole first: a delayed answer still applies the request
    with sandbox.lock:
        sandbox.requests["linear"] = sandbox.requests.get("linear", 0) + 1
    given = request.headers.get("authorization", "")
    if given != LINEAR_KEY or LINEAR_KEY in sandbox.revoked:
        message = (
            "Authentication required, not authenticated - personal API keys are sent without "
            "'Bearer'"
            if given.lower().startswith("bearer ")
            else "Authentication required, not authenticated"
        )
        return JSONResponse(
            {"errors": [{"message": message, "extensions": {"code": "AUTHENTICATION_ERROR"}}]},
            status_code=400,
        )
    fault = await _fault_for(request, "linear")
    if fault is not None:
        if fault.status_code == 429:
            reset_ms = int((datetime.now(UTC).timestamp() + 0.05) * 1000)
            return JSONResponse(
                {
                    "errors": [
                        {"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}
                    ]
                },
                status_code=400,
                headers={
                    "X-RateLimit-Requests-Remaining": "0",
                    "X-RateLimit-Requests-Reset": str(reset_ms),
                },
            )
        return fault
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"errors": [{"message": "body is not JSON"}]}, status_code=400)
    status, answer = linear_graphql(body, sandbox.trackers)
    return JSONResponse(answer, status_code=status)


# Jira -----------------------------------------------------------------------------------------


def _jira_error(status: int, message: str, errors: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"errorMessages": [message] if message else [], "errors": errors or {}},
        status_code=status,
    )


async def _jira_gate(request: Request) -> Response | None:
    from connectors.sandbox.app import _bearer, _fault_for, _state

    sandbox = _state(request)
    await request.body()  # read whole first: a delayed answer still applies the request
    with sandbox.lock:
        sandbox.requests["jira"] = sandbox.requests.get("jira", 0) + 1
    header = request.headers.get("authorization", "")
    user = _bearer(request)
    token = None
    if header.lower().startswith("basic "):
        try:
            token = base64.b64decode(header[6:]).decode().split(":", 1)[1]
        except (ValueError, IndexError):
            token = None
    if user != JIRA_EMAIL or token != JIRA_TOKEN or JIRA_TOKEN in sandbox.revoked:
        return _jira_error(401, "Client must be authenticated to access this resource.")
    return await _fault_for(request, "jira")


def _trackers(request: Request) -> TrackerState:
    from connectors.sandbox.app import _state

    return _state(request).trackers


def _jira_issue_view(request: Request, issue: dict[str, Any]) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/") + "/jira"
    status_name = issue["status"]
    return {
        "id": issue["id"],
        "key": issue["key"],
        "self": f"{base}/rest/api/3/issue/{issue['id']}",
        "fields": {
            "summary": issue["summary"],
            "description": issue["description"],
            "labels": issue["labels"],
            "project": issue["project"],
            "issuetype": issue["issuetype"],
            "status": {
                "name": status_name,
                "statusCategory": {"key": JIRA_STATUSES[status_name], "name": status_name},
            },
            "created": issue["created"],
            "updated": issue["updated"],
        },
    }


async def jira_server_info(request: Request) -> Response:
    denied = await _jira_gate(request)
    if denied is not None:
        return denied
    return JSONResponse(
        {
            "baseUrl": str(request.base_url).rstrip("/") + "/jira",
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100290,
            "serverTitle": "Jira (sandbox)",
        }
    )


async def jira_fields(request: Request) -> Response:
    denied = await _jira_gate(request)
    if denied is not None:
        return denied
    names = ["Summary", "Status", "Labels", "Description", "Project", "Issue Type"]
    return JSONResponse(
        [{"id": n.lower().replace(" ", ""), "name": n, "custom": False} for n in names]
    )


async def jira_project(request: Request) -> Response:
    denied = await _jira_gate(request)
    if denied is not None:
        return denied
    key = request.path_params["key"]
    state = _trackers(request)
    project = state.jira_projects.get(key) or next(
        (p for p in state.jira_projects.values() if p["id"] == key), None
    )
    if project is None:
        return _jira_error(404, f"No project could be found with key '{key}'.")
    return JSONResponse(project)


async def jira_create_issue(request: Request) -> Response:
    denied = await _jira_gate(request)
    if denied is not None:
        return denied
    body = await request.json()
    fields = body.get("fields") or {}
    state = _trackers(request)
    project_ref = fields.get("project") or {}
    with state.lock:
        project = state.jira_projects.get(project_ref.get("key", "")) or next(
            (p for p in state.jira_projects.values() if p["id"] == project_ref.get("id")), None
        )
        if project is None:
            return _jira_error(400, "", {"project": "valid project is required"})
        if not fields.get("summary"):
            return _jira_error(400, "", {"summary": "You must specify a summary of the issue."})
        description = fields.get("description")
        if description is not None and (
            not isinstance(description, dict) or description.get("type") != "doc"
        ):
            return _jira_error(
                400, "", {"description": "Operation value must be an Atlassian Document."}
            )
        labels = fields.get("labels") or []
        if any(" " in label for label in labels):
            return _jira_error(400, "", {"labels": "Labels cannot contain spaces."})
        number = sum(1 for i in state.jira_issues.values() if i["project"]["key"] == project["key"])
        issue_id = str(10000 + next(state.counter))
        key = f"{project['key']}-{number + 1}"
        state.jira_issues[key] = {
            "id": issue_id,
            "key": key,
            "summary": fields["summary"],
            "description": description,
            "labels": labels,
            "project": project,
            "issuetype": fields.get("issuetype") or {"name": "Task"},
            "status": "To Do",
            "created": _now(),
            "updated": _now(),
        }
    base = str(request.base_url).rstrip("/") + "/jira"
    return JSONResponse(
        {"id": issue_id, "key": key, "self": f"{base}/rest/api/3/issue/{issue_id}"},
        status_code=201,
    )


def _find_jira_issue(state: TrackerState, ref: str) -> dict[str, Any] | None:
    return state.jira_issues.get(ref) or next(
        (i for i in state.jira_issues.values() if i["id"] == ref), None
    )


async def jira_get_issue(request: Request) -> Response:
    denied = await _jira_gate(request)
    if denied is not None:
        return denied
    issue = _find_jira_issue(_trackers(request), request.path_params["key"])
    if issue is None:
        return _jira_error(404, "Issue does not exist or you do not have permission to see it.")
    return JSONResponse(_jira_issue_view(request, issue))


JQL_LABEL = re.compile(r'^labels\s*=\s*"([^"]+)"$')
JQL_IDS = re.compile(r"^id\s+in\s+\(([\d,\s]+)\)$")


async def jira_search(request: Request) -> Response:
    denied = await _jira_gate(request)
    if denied is not None:
        return denied
    if request.method == "POST":
        params = await request.json()
        jql = str(params.get("jql", ""))
        limit = int(params.get("maxResults") or 50)
    else:
        jql = request.query_params.get("jql", "")
        limit = int(request.query_params.get("maxResults") or 50)
    state = _trackers(request)
    if match := JQL_LABEL.match(jql.strip()):
        found = [i for i in state.jira_issues.values() if match.group(1) in i["labels"]]
    elif match := JQL_IDS.match(jql.strip()):
        ids = {part.strip() for part in match.group(1).split(",")}
        found = [i for i in state.jira_issues.values() if i["id"] in ids]
    else:
        return _jira_error(400, f"Error in the JQL Query: the sandbox does not serve {jql!r}.")
    return JSONResponse(
        {"issues": [_jira_issue_view(request, i) for i in found[:limit]], "isLast": True}
    )


async def jira_applinks(request: Request) -> Response:
    denied = await _jira_gate(request)
    if denied is not None:
        return denied
    return JSONResponse([])


async def jira_remote_links(request: Request) -> Response:
    denied = await _jira_gate(request)
    if denied is not None:
        return denied
    state = _trackers(request)
    issue = _find_jira_issue(state, request.path_params["key"])
    if issue is None:
        return _jira_error(404, "Issue does not exist or you do not have permission to see it.")
    links = state.jira_links.setdefault(issue["key"], [])
    if request.method == "GET":
        return JSONResponse(links)
    body = await request.json()
    if not (body.get("object") or {}).get("url"):
        return _jira_error(400, "", {"url": "The URL is required."})
    with state.lock:
        global_id = body.get("globalId")
        existing = next((x for x in links if global_id and x["globalId"] == global_id), None)
        if existing is not None:
            existing["object"] = body["object"]
            return JSONResponse({"id": existing["id"], "self": ""}, status_code=200)
        link = {"id": next(state.counter), "globalId": global_id, "object": body["object"]}
        links.append(link)
    return JSONResponse({"id": link["id"], "self": ""}, status_code=201)


# Control --------------------------------------------------------------------------------------


async def control_linear_state(request: Request) -> Response:
    """Move a Linear issue to a workflow state, as a teammate would: {"state": "Done"}."""
    state = _trackers(request)
    body = await request.json()
    with state.lock:
        issue = state.linear_issues.get(request.path_params["issue_id"])
        if issue is None or body.get("state") not in LINEAR_STATES:
            return JSONResponse({"error": "unknown issue or state"}, status_code=404)
        issue["stateName"] = body["state"]
        issue["updatedAt"] = _now()
        if LINEAR_STATES[body["state"]] == "completed":
            issue["completedAt"] = _now()
        return JSONResponse(_issue_view(state, issue))


async def control_jira_status(request: Request) -> Response:
    """Move a Jira issue to a status: {"status": "Done"}."""
    state = _trackers(request)
    body = await request.json()
    with state.lock:
        issue = _find_jira_issue(state, request.path_params["key"])
        if issue is None or body.get("status") not in JIRA_STATUSES:
            return JSONResponse({"error": "unknown issue or status"}, status_code=404)
        issue["status"] = body["status"]
        issue["updated"] = _now()
    return JSONResponse(_jira_issue_view(request, issue))


async def control_jira_delete_project(request: Request) -> Response:
    state = _trackers(request)
    with state.lock:
        removed = state.jira_projects.pop(request.path_params["key"], None)
    return JSONResponse({"deleted": removed is not None})


async def control_trackers(request: Request) -> Response:
    """Everything the tracker stand-ins hold, for tests and the demo."""
    state = _trackers(request)
    with state.lock:
        return JSONResponse(
            {
                "linear": {
                    "issues": [_issue_view(state, i) for i in state.linear_issues.values()],
                    "attachments": list(state.linear_attachments),
                },
                "jira": {
                    "issues": [_jira_issue_view(request, i) for i in state.jira_issues.values()],
                    "remote_links": state.jira_links,
                },
            }
        )
