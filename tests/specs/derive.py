"""Derive the vendored provider specs (tests/specs) from the full ones: only the operations the tests
validate against and what those operations reference, each copied unmodified.

    python tests/specs/derive.py [PATH_TO/provider_specs]    # default: ../shared/provider_specs

rewrites tests/specs/<provider>/<file>. Only specs whose licence allows it are here (SOURCES.md);
the others stay in the shared checkout. A test checks that the vendored files are what this
derives whenever the full specs are present (tests/test_specs.py). A test that validates against
a new operation or schema adds it to `KEEP` and runs this again.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "provider_specs"
SECTIONS = ("paths", "components", "definitions", "parameters", "responses")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# Per file: the operations kept whole ("METHOD /path") and other objects kept by JSON pointer.
KEEP: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rootly/swagger.json": (
        (
            "GET /v1/users", "GET /v1/users/{id}", "DELETE /v1/users/{id}", "GET /v1/users/me",
            "GET /v1/teams", "GET /v1/teams/{id}", "PUT /v1/teams/{id}",
            "GET /v1/roles", "GET /v1/roles/{id}", "GET /v1/on_call_roles",
            "GET /v1/incident_roles", "GET /v1/incident_roles/{id}", "GET /v1/incidents/{id}",
            "POST /v1/incidents/{id}/assign_role_to_user", "DELETE /v1/incidents/{id}/unassign_role_from_user",
        ),
        ("#/components/schemas/errors_list", "#/components/schemas/user_response"),
    ),
    "opsgenie/swagger.json": (
        (
            "GET /v2/users", "GET /v2/users/{identifier}", "GET /v2/users/{identifier}/teams",
            "GET /v2/teams", "GET /v2/teams/{identifier}", "GET /v2/roles", "GET /v2/account",
        ),
        ("#/definitions/ErrorResponse", "#/definitions/SuccessResponse", "#/definitions/User"),
    ),
    "retool/openAPISpec.json": (
        (
            "GET /users", "POST /users", "GET /users/{userId}", "PATCH /users/{userId}",
            "GET /groups", "GET /groups/{groupId}", "POST /groups/{groupId}/members",
            "DELETE /groups/{groupId}/members/{userSid}", "GET /role_permissions/roles",
        ),
        (),
    ),
    "jsm/jira-platform-directory-subset.json": (
        (
            "GET /rest/api/3/applicationrole", "GET /rest/api/3/myself", "POST /rest/api/3/permissions/check",
            "GET /rest/api/3/user", "POST /rest/api/3/user", "GET /rest/api/3/user/bulk",
            "GET /rest/api/3/user/search", "GET /rest/api/3/users/search",
        ),
        ("#/components/schemas/ErrorCollection",),
    ),
    # Subsets already (on-call, Okta): kept whole.
    "oncall/rootly-oncall.openapi.json": (("*",), ()),
    "oncall/opsgenie-oncall.swagger.json": (("*",), ()),
    "okta/okta-management-directory.subset.json": (("*",), ()),
    "okta/okta-oauth-token.subset.json": (("*",), ()),
}  # fmt: skip


def without_local_paths(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` without the curator's own file paths: a subset's provenance note (`x-subset.source`)
    names the public origin and also where the full document lay on the machine that cut it."""
    note = spec.get("x-subset")
    if not isinstance(note, dict) or not isinstance(note.get("source"), str):
        return spec
    source = re.sub(r";\s*local copy [^;]*", "", note["source"])
    return {**spec, "x-subset": {**note, "source": source}}


def tokens(pointer: str) -> list[str]:
    if not pointer.startswith("#/"):
        raise ValueError(f"only references inside the document are expected, not {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[2:].split("/")]


def refs(node: Any) -> list[str]:
    """Every $ref under `node`."""
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def derive(spec: dict[str, Any], operations: tuple[str, ...], pointers: tuple[str, ...]) -> dict[str, Any]:
    """`spec` with only `operations` (and their path's shared parameters), the objects at `pointers`,
    and everything those reference; every kept object as it is in `spec`, in `spec`'s order."""
    if operations == ("*",):  # a subset already (on-call, Okta): kept whole, but for where it was made
        return without_local_paths(spec)
    wanted: set[tuple[str, ...]] = set()
    for operation in operations:
        method, path = operation.split(" ", 1)
        wanted.add(("paths", path, method.lower()))
        wanted.update(("paths", path, key) for key in spec["paths"][path] if key not in METHODS)
    pending = [tuple(tokens(p)) for p in pointers] + sorted(wanted)
    while pending:
        at = pending.pop()
        wanted.add(at)
        node: Any = spec
        for token in at:
            node = node[token]
        pending.extend(key for r in refs(node) if (key := tuple(tokens(r))) not in wanted)
    return prune(spec, wanted, ())


def prune(node: Any, wanted: set[tuple[str, ...]], at: tuple[str, ...]) -> Any:
    """`node` (at `at`) with only what `wanted` names; the document's other top-level parts whole."""
    if at in wanted or not isinstance(node, dict) or (len(at) == 1 and at[0] not in SECTIONS):
        return node
    kept = {}
    for key, value in node.items():
        here = (*at, key)
        if (not at and key not in SECTIONS) or any(w[: len(here)] == here for w in wanted):
            kept[key] = prune(value, wanted, here)
    return kept


def derived(source: Path) -> dict[str, str]:
    """{relative file: its derived text} from the full specs in `source`."""
    out = {}
    for relative, (operations, pointers) in KEEP.items():
        spec = json.loads((source / relative).read_text(encoding="utf-8"))
        out[relative] = json.dumps(derive(spec, operations, pointers), indent=1, ensure_ascii=False) + "\n"
    return out


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else SHARED
    for relative, text in derived(source).items():
        (HERE / relative).parent.mkdir(parents=True, exist_ok=True)
        (HERE / relative).write_text(text, encoding="utf-8")
        print(f"{relative}: {len(text.encode()):,} B")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
