"""How a tool's argument and result models become the schemas a client sees (SPEC §3, §15).

Every tool's schemas come from here, so every tool follows the same rules. Agents reach the
server through frameworks that convert each `inputSchema` for a model API (OpenAI's strict
mode, Gemini's function declarations, Anthropic's tool input schema), so an input schema is
one every such conversion takes whole:

- every optional argument is `anyOf: [<its type>, {"type": "null"}]` with `default: null`
  (strict modes make every property required; null is how a model says "not given", and
  `base.Args` reads it exactly as absent) — never a `type` list, on which Anthropic's
  transformer fails;
- the top level is always `type: object` with `properties` and `required`;
- no boolean `additionalProperties` (google-genai's own MCP conversion crashes on it; the
  argument models still refuse an unknown argument);
- `$ref`s are inlined.

Output schemas keep their nulls as `type` lists (`flat_nullable`): cheaper for a client that
validates every result, and no model API converts them.

What a schema says about providers derives from the provider list it is shown with
(`for_providers`): the enum of every provider argument and field, how many providers a list
may name, and the `$PROVIDERS` / `$PROXY_ROOTS` / `$DEACTIVATION` placeholders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..models import PROVIDER_MARK, PROVIDERS_MARK
from ..spec import DEACTIVATION_EFFECTS

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ..providers import Provider

NULL = {"type": "null"}
# What stays beside `anyOf` on an optional argument; every other keyword describes the value
# itself and moves into the non-null branch (a bound on the list, a provider marker).
ANNOTATIONS = ("description", "default", "anyOf")


def input_schema(args: type[BaseModel]) -> dict[str, Any]:
    """The inputSchema of an argument model, with placeholders and provider markers still unfilled."""
    schema: dict[str, Any] = strict_input(inline_refs(compact_schema(args.model_json_schema())))
    schema.setdefault("properties", {})
    schema.setdefault("required", [])
    return schema


def output_schema(result: type[BaseModel]) -> dict[str, Any]:
    """The outputSchema of a result model, with provider markers still unfilled."""
    schema: dict[str, Any] = flat_nullable(inline_refs(compact_schema(result.model_json_schema())))
    return schema


def strict_input(node: Any) -> Any:
    """Every optional property of every object nullable with `default: null`, and no boolean
    `additionalProperties` anywhere."""
    if isinstance(node, list):
        return [strict_input(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_input(v) for k, v in node.items() if not (k == "additionalProperties" and isinstance(v, bool))}
    properties = out.get("properties")
    if isinstance(properties, dict):
        required = out.get("required", [])
        out["properties"] = {name: sub if name in required else nullable(sub) for name, sub in properties.items()}
    return out


def nullable(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional property as `anyOf: [<type>..., {"type": "null"}]` with `default: null`. A
    non-null default is what null stands for: the property's description says it."""
    value = {k: v for k, v in prop.items() if k not in ANNOTATIONS}
    branches = [b for b in prop.get("anyOf", [value]) if b != NULL]
    if "anyOf" in prop:  # keywords pydantic put beside anyOf (json_schema_extra) describe the value
        branches = [{**b, **value} for b in branches]
    out = {"anyOf": [*branches, NULL], "default": None}
    if "description" in prop:
        out["description"] = prop["description"]
    return out


def compact_schema(node: Any) -> Any:
    """Drop what costs the model tokens and tells it nothing: pydantic's generated titles."""
    if isinstance(node, list):
        return [compact_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):  # maps of names, where "title" may be a real name
            out[key] = {name: compact_schema(sub) for name, sub in value.items()}
        elif key != "title" or not isinstance(value, str):
            out[key] = compact_schema(value)
    return out


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace every local `$ref` with its definition (our models are not recursive), so a
    client never resolves references (Gemini's declarations cannot)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {**target, **{k: walk(v) for k, v in node.items() if k != "$ref"}}
        return {k: walk(v) for k, v in node.items() if k != "$defs"}

    inlined: dict[str, Any] = walk(schema)
    return inlined


def flat_nullable(node: Any) -> Any:
    """`anyOf: [{type: X, ...}, {type: null}]` as `type: [X, "null"]`: the same set of values,
    far cheaper for a client to validate on every result (and fewer bytes)."""
    if isinstance(node, list):
        return [flat_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: flat_nullable(v) for k, v in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and NULL in branches:
        (other,) = [b for b in branches if b != NULL]
        if isinstance(other.get("type"), str):
            del out["anyOf"]
            out = {**other, **out, "type": [other["type"], "null"]}
            if "enum" in other:  # an enum constrains the value too: null must be one of them
                out["enum"] = [*other["enum"], None]
    return out


def joined(words: Sequence[str], last: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def placeholders(text: str, providers: Sequence[Provider]) -> str:
    """`$PROVIDERS` (their names), `$PROXY_ROOTS` (where proxy paths start) and `$DEACTIVATION`
    (what deactivating does at each) filled in."""
    if "$" not in text:
        return text
    roots = [
        f"{p.title} {' or '.join(f'{root}...' for root in (p.spec.proxy_prefix, *p.spec.proxy_roots))}"
        + (f" (below {p.spec.api_root})" if p.spec.api_root else "")
        for p in providers
    ]
    by_effect = {
        effect: [p.title for p in providers if p.supports("deactivate_user") and p.spec.user_delete == kind]
        for kind, effect in DEACTIVATION_EFFECTS.items()
    }
    deactivation = "; ".join(f"in {joined(titles, 'and')} {effect}" for effect, titles in by_effect.items() if titles)
    names = joined([p.name for p in providers], "or") if providers else "none here"
    return (
        text.replace("$PROVIDERS", names)
        .replace("$PROXY_ROOTS", ", ".join(roots))
        .replace("$DEACTIVATION", deactivation)
    )


def for_providers(schema: dict[str, Any], providers: Sequence[Provider]) -> dict[str, Any]:
    """A schema with its provider markers (models.PROVIDER_MARK, PROVIDERS_MARK) and description
    placeholders filled in from `providers`. With no provider at all, a provider is any string
    (an empty enum admits nothing, and some model APIs refuse it): the call then says why."""
    names = [p.name for p in providers]

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == PROVIDER_MARK:
                if names:
                    nullable = isinstance(node.get("type"), list) and "null" in node["type"]
                    out["enum"] = [*names, None] if nullable else names
            elif key == PROVIDERS_MARK:
                if names:
                    out["maxItems"] = len(names)
            elif key == "description" and isinstance(value, str):
                out[key] = placeholders(value, providers)
            else:
                out[key] = walk(value)
        return out

    filled: dict[str, Any] = walk(schema)
    return filled
