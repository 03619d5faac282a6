"""The vendored provider specs (tests/specs): what derive.py makes from the full documents, each
with its origin and licence beside it, and preferred over the shared checkout."""

from __future__ import annotations

import json

from tests.specs.derive import KEEP, derived

from .support import SHARED_SPECS, SPEC_FILES, SPECS, VENDORED_SPECS, require_specs, spec_file


def test_the_vendored_specs_are_what_derive_makes_from_the_full_ones():
    full = require_specs(SHARED_SPECS)  # skipped without the shared checkout (failed under CI=true)
    for relative, text in derived(full).items():
        assert (VENDORED_SPECS / relative).read_text(encoding="utf-8") == text, "run: python tests/specs/derive.py"


def test_each_vendored_spec_has_its_origin_and_licence_beside_it():
    sources = (VENDORED_SPECS / "SOURCES.md").read_text(encoding="utf-8")
    vendored = sorted(str(p.relative_to(VENDORED_SPECS)) for p in VENDORED_SPECS.rglob("*.json"))
    assert vendored == sorted(KEEP)
    for relative in vendored:
        assert f"`{relative}`" in sources
        licence = VENDORED_SPECS / relative.split("/")[0] / "LICENSE"
        stated = json.loads((VENDORED_SPECS / relative).read_text(encoding="utf-8"))["info"].get("license")
        assert licence.is_file() or stated, relative


def test_the_tests_read_the_vendored_copy_first():
    assert SPECS == VENDORED_SPECS
    for relative in SPEC_FILES.values():
        assert spec_file(relative) == VENDORED_SPECS / relative
    for relative in ("oncall/rootly-oncall.openapi.json", "oncall/opsgenie-oncall.swagger.json"):
        assert spec_file(relative) == VENDORED_SPECS / relative
