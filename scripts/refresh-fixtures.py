#!/usr/bin/env python3
"""Copies the parts of ../shared/specs that the tests use into tests/fixtures/.

The tests must pass in a clone without ../shared, so they read these trimmed copies:
- the OpenAI `CreateResponse` schema with every schema it references,
- the request body schemas of the GitHub operations the app calls,
- real webhook payloads from @octokit/webhooks-examples,
- GitHub's GraphQL schema (gzipped).
Run from the repository root: python3 scripts/refresh-fixtures.py [path/to/shared/specs]
"""
import gzip
import json
import sys
from pathlib import Path

SPECS = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/specs")
OUT = Path("tests/fixtures")

# (method, path) of every GitHub REST call the app makes.
GITHUB_OPERATIONS = [
    ("get", "/app"),
    ("get", "/app/installations"),
    ("get", "/app/hook/config"),
    ("get", "/app/hook/deliveries"),
    ("post", "/app-manifests/{code}/conversions"),
    ("get", "/repos/{owner}/{repo}/installation"),
    ("get", "/installation/repositories"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
    ("get", "/repos/{owner}/{repo}/tarball/{ref}"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies"),
    ("get", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions"),
    ("post", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
]

# (event, action or None, file name) of the webhook payloads the tests start from.
WEBHOOKS = [
    ("issue_comment", "created", "issue_comment.created.json"),
    ("pull_request", "opened", "pull_request.opened.json"),
    ("pull_request", "ready_for_review", "pull_request.ready_for_review.json"),
    ("pull_request", "synchronize", "pull_request.synchronize.json"),
    ("ping", None, "ping.json"),
    ("check_run", "rerequested", "check_run.rerequested.json"),
    ("pull_request_review_comment", "created", "pull_request_review_comment.created.json"),
]


def refs(node, found):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for v in node.values():
            refs(v, found)
    elif isinstance(node, list):
        for v in node:
            refs(v, found)


def closure(doc, start):
    """Every `#/components/...` reachable from `start`, as a trimmed components object."""
    seen, todo = set(), set()
    refs(start, todo)
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        refs(doc["components"][kind][name], todo)
    components = {}
    for ref in sorted(seen):
        _, _, kind, name = ref.split("/", 3)
        components.setdefault(kind, {})[name] = doc["components"][kind][name]
    return components


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    openai = json.loads((SPECS / "openai-openapi.json").read_text())
    root = {"$ref": "#/components/schemas/CreateResponse"}
    trimmed = {
        "$comment": "OpenAI OpenAPI (openai/openai-openapi, see openai-openapi.SOURCE): CreateResponse and what it references",
        "$ref": root["$ref"],
        "components": closure(openai, root),
    }
    (OUT / "openai-create-response.schema.json").write_text(json.dumps(trimmed, indent=1) + "\n")

    github = json.loads((SPECS / "github-openapi.json").read_text())
    ops = {}
    for method, path in GITHUB_OPERATIONS:
        op = github["paths"][path][method]
        ops[f"{method.upper()} {path}"] = {
            "operationId": op.get("operationId"),
            "parameters": op.get("parameters", []),
            "requestBody": op.get("requestBody"),
            "responses": {k: v for k, v in op.get("responses", {}).items() if k.startswith("2")},
        }
    trimmed = {
        "$comment": "GitHub REST OpenAPI (@octokit/openapi 23.0.2, MIT): the operations codex-review calls",
        "operations": ops,
        "components": closure(github, ops),
    }
    (OUT / "github-openapi.subset.json").write_text(json.dumps(trimmed, indent=1) + "\n")

    examples = json.loads((SPECS / "github-webhook-examples.json").read_text())
    hooks = OUT / "webhooks"
    hooks.mkdir(exist_ok=True)
    for event, action, name in WEBHOOKS:
        group = next(e for e in examples if e["name"] == event)
        payload = next(x for x in group["examples"] if action is None or x.get("action") == action)
        (hooks / name).write_text(json.dumps(payload, indent=1) + "\n")
    # GitHub's GraphQL schema, whole (the app's queries are validated against it), gzipped.
    schema = (SPECS / "github-schema.graphql").read_bytes()
    (OUT / "github-schema.graphql.gz").write_bytes(gzip.compress(schema, 9, mtime=0))
    for f in sorted(list(OUT.rglob("*.json")) + list(OUT.glob("*.gz"))):
        print(f"{f}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
