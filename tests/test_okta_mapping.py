"""Okta's pure readers and mappings on real-shaped payloads (FACTS §2, §4, §6, §7)."""

from __future__ import annotations

from mcp_directory.errors import RateLimited, Unauthorized, from_status
from mcp_directory.providers.okta import SPEC
from mcp_directory.providers.okta_mapping import (
    error_code,
    error_text,
    map_assigned_role,
    map_user,
    next_after,
    reset_wait,
)


def test_next_after_reads_the_link_headers_next_url():
    header = (
        '<https://acme.okta.com/api/v1/users?limit=200>; rel="self", '
        '<https://acme.okta.com/api/v1/users?after=00ub0oNGTSWTBKOLGLNR&limit=200>; rel="next"'
    )
    assert next_after(header) == "00ub0oNGTSWTBKOLGLNR"
    assert next_after('<https://acme.okta.com/api/v1/users?limit=200>; rel="self"') is None
    assert next_after(None) is None


def test_reset_waits_until_the_epoch_second():
    assert reset_wait({"x-rate-limit-reset": "1000"}, 990.5) == 9.5
    assert reset_wait({"x-rate-limit-reset": "1000"}, 1005) == 0.0
    assert reset_wait({}, 1000) is None
    assert SPEC.retry_after({"x-rate-limit-reset": "1012"}, 1000.0) == 12.0  # on a 429
    assert SPEC.retry_after({"x-rate-limit-reset": "1012"}, 1000.0, status=503) is None


def test_errors_by_okta_code_with_causes_as_list_or_object():
    denied = {"errorCode": "E0000006", "errorSummary": "You do not have permission", "errorCauses": []}
    assert error_code(denied) == "forbidden" and "Read-Only Administrator" in (error_text(denied) or "")
    cause = {"errorCode": "E0000001", "errorSummary": "Api validation failed", "errorCauses": {"errorSummary": "x"}}
    assert error_text(cause) == "Api validation failed (x)" and error_code(cause) is None
    token = {"error": "invalid_client", "error_description": "The client_assertion signature is invalid."}
    assert error_code(token) == "unauthorized" and error_text(token) == f"invalid_client: {token['error_description']}"
    # the body's code decides over the status: a 400 from the token endpoint is unauthorized
    assert isinstance(from_status("okta", 400, "x", what="POST", code="unauthorized"), Unauthorized)
    assert isinstance(
        from_status("okta", 429, "x", what="GET", code=error_code({"errorCode": "E0000047"})), RateLimited
    )


def test_user_name_falls_back_to_first_and_last_and_unknown_status_is_null():
    user = map_user({"id": "00u1", "status": "ACTIVATING", "profile": {"firstName": "Zoë", "lastName": "Ångström"}})
    assert (user.name, user.status, user.email, user.roles, user.is_admin) == ("Zoë Ångström", None, None, None, None)
    assert map_user({"id": "00u2", "profile": {}}, roles=[]).is_admin is False


def test_assigned_roles_standard_by_type_custom_by_role_id():
    assert map_assigned_role({"type": "ORG_ADMIN", "label": "Organization Administrator"}).id == "ORG_ADMIN"
    custom = map_assigned_role({"type": "CUSTOM", "role": "cr0abc", "label": "Access Reviewer"})
    assert (custom.id, custom.name) == ("cr0abc", "Access Reviewer")
