"""Pure mapping functions on real-shaped provider payloads."""

from mcp_directory.providers import opsgenie, retool, rootly

# GET /v1/users/97487?include=role,teams,schedules,notification_rules, shaped like Rootly's
# spec (user_response) and ConductorOne's recorded fixtures: numeric-string id, offset timestamps,
# teams included as type "groups" with integer user_ids.
ROOTLY_USER = {
    "data": {
        "id": "97487",
        "type": "users",
        "attributes": {
            "email": "Ana.Souza@acme.com",
            "first_name": "Ana",
            "last_name": "Souza",
            "full_name": "Ana Souza",
            "full_name_with_team": "[Payments] Ana Souza",
            "time_zone": "America/Sao_Paulo",
            "created_at": "2025-04-01T12:10:36.179-07:00",
            "updated_at": "2025-06-02T08:00:00.000-07:00",
            "phone": None,
            "slack_id": "U123",
        },
        "relationships": {
            "role": {"data": {"id": "r-admin", "type": "roles"}},
            "on_call_role": {"data": {"id": "ocr-1", "type": "on_call_roles"}},
        },
    },
    "included": [
        {"id": "r-admin", "type": "roles", "attributes": {"name": "Admin", "slug": "admin"}},
        {
            "id": "g-1",
            "type": "groups",
            "attributes": {"name": "Payments", "user_ids": [12, 97487], "admin_ids": [97487]},
        },
        {"id": "g-2", "type": "groups", "attributes": {"name": "SRE", "user_ids": [97487]}},
        {"id": "g-3", "type": "groups", "attributes": {"name": "Other", "user_ids": [974870, 9748]}},
        {"id": "s-1", "type": "schedules", "attributes": {"name": "Primary on-call"}},
        {"id": "nr-1", "type": "user_notification_rules", "attributes": {"enabled": True}},
    ],
}


def test_rootly_user_with_included_groups_schedules_and_rules():
    user = rootly.map_user(ROOTLY_USER["data"], rootly.index_included(ROOTLY_USER), with_groups=True)
    assert user.id == "97487"
    assert user.email == "Ana.Souza@acme.com"
    assert user.name == "Ana Souza"
    assert user.roles[0].name == "Admin" and user.roles[0].id == "r-admin"
    assert user.is_admin is True
    # Only groups whose integer user_ids hold exactly this user; schedules and rules are ignored.
    assert user.group_ids == ["g-1", "g-2"]
    assert user.status == "active"
    assert user.time_zone == "America/Sao_Paulo"
    assert user.last_active_at is None


def test_rootly_user_without_relationships_or_included():
    resource = {"id": "5", "type": "users", "attributes": {"email": "x@y.z", "created_at": "t", "updated_at": "t"}}
    user = rootly.map_user(resource, rootly.Included([]), with_groups=False)
    assert user.roles == [] and user.is_admin is None and user.group_ids is None and user.name is None


def test_rootly_team_members_and_admins():
    team = {"id": "7", "type": "groups", "attributes": {"name": "SRE", "user_ids": [1, 2, 3], "admin_ids": [2]}}
    group = rootly.map_team(team, with_members=True)
    assert group.member_count == 3
    assert [(m.user_id, m.role) for m in group.members] == [("1", "member"), ("2", "admin"), ("3", "member")]
    assert rootly.map_team(team, with_members=False).members is None


def test_rootly_roles_and_incident_roles():
    assert rootly.map_role({"id": "1", "type": "on_call_roles", "attributes": {"name": "Responder"}}).kind == "on_call"
    assert rootly.map_role({"id": "2", "type": "roles", "attributes": {"name": "Owner"}}).kind == "account"
    ir = rootly.map_incident_role(
        {
            "id": "9",
            "type": "incident_roles",
            "attributes": {"name": "Commander", "slug": "commander", "summary": "Leads", "enabled": False},
        }
    )
    # `summary` is not a description: unknown values are null, never invented (SPEC §4)
    assert (ir.name, ir.slug, ir.description, ir.enabled) == ("Commander", "commander", None, False)


def test_opsgenie_user_statuses_and_roles():
    base = {"id": "u1", "username": "Bob@Acme.com", "fullName": "Bob B", "role": {"id": "admin", "name": "admin"}}
    assert opsgenie.map_user({**base, "blocked": False, "verified": True}).status == "active"
    assert opsgenie.map_user({**base, "blocked": True, "verified": True}).status == "blocked"
    assert opsgenie.map_user({**base, "blocked": False, "verified": False}).status == "invited"
    user = opsgenie.map_user(base, ["t1"])
    assert user.email == "Bob@Acme.com" and user.is_admin is True and user.group_ids == ["t1"]
    assert opsgenie.map_user({**base, "role": {"id": "x", "name": "user"}}).is_admin is False


def test_opsgenie_team_account_and_next_offset():
    team = opsgenie.map_team(
        {
            "id": "t",
            "name": "Payments",
            "members": [
                {"user": {"id": "u1", "username": "a"}, "role": "admin"},
                {"user": {"id": "u2"}, "role": "user"},
            ],
        }
    )
    assert [(m.user_id, m.role) for m in team.members] == [("u1", "admin"), ("u2", "member")]
    assert opsgenie.map_team({"id": "t", "name": "x"}).members is None
    lic = opsgenie.map_account(
        {"name": "acme", "userCount": 1450, "plan": {"maxUserCount": 1500, "name": "Enterprise"}}
    )
    assert (lic.total_seats, lic.used_seats, lic.available_seats, lic.name) == (1500, 1450, 50, "Enterprise")
    doc = {"paging": {"next": "https://api.opsgenie.com/v2/users?offset=20&limit=10&order=asc"}}
    assert opsgenie.next_offset(doc) == 20
    assert opsgenie.next_offset({"paging": {"first": "x"}}) is None


def test_retool_user_from_recording_shape():
    record = {
        "id": "user_37eb84a07b57447cb1dad0c17842b5d7",
        "legacy_id": 1,
        "first_name": "Luke",
        "last_name": "Wright",
        "created_at": "2025-11-06T17:00:13.388Z",
        "last_active": "2026-02-04T22:07:25.613Z",
        "email": "lukew@retool.com",
        "active": True,
        "metadata": {},
        "is_admin": True,
        "two_factor_auth_enabled": False,
        "user_type": "default",
    }
    user = retool.map_user(record)
    assert (user.name, user.status, user.is_admin, user.last_active_at) == (
        "Luke Wright",
        "active",
        True,
        "2026-02-04T22:07:25.613Z",
    )
    assert user.group_ids is None
    assert retool.map_user(
        {**record, "active": False, "groups": [{"id": 65, "legacy_id": 65, "name": "g"}]}
    ).group_ids == ["65"]
    assert retool.map_user({**record, "active": False}).status == "inactive"


def test_retool_group_and_tokens():
    record = {
        "id": 65,
        "legacy_id": 65,
        "name": "eng",
        "members": [{"id": "user_a", "email": "a@x", "is_group_admin": True}],
    }
    assert retool.map_group(record, with_members=True).members[0].role == "admin"
    assert retool.map_group(record, with_members=False).member_count == 1
    assert retool.next_token({"next_token": "abc", "has_more": True}) == "abc"
    assert retool.next_token({"next_token": None, "has_more": False}) is None
    assert retool.next_token({"next": "n1"}) == "n1"


def test_incident_role_resolution_by_id_slug_or_name():
    from mcp_directory.errors import InvalidArgument, NotFound
    from mcp_directory.models import IncidentRole

    roles = [
        IncidentRole(id="r1", name="Commander", slug="commander", description=None, enabled=True),
        IncidentRole(id="r2", name="Scribe", slug="scribe", description=None, enabled=True),
        IncidentRole(id="r3", name="Lead", slug="tech-lead", description=None, enabled=True),
        IncidentRole(id="r4", name="Tech-Lead", slug="lead2", description=None, enabled=False),
    ]
    assert rootly.pick_incident_role(roles, "r2").name == "Scribe"
    assert rootly.pick_incident_role(roles, "COMMANDER").id == "r1"
    assert rootly.pick_incident_role(roles, "scribe").id == "r2"
    try:
        rootly.pick_incident_role(roles, "tech-lead")  # r3's slug and r4's name
    except InvalidArgument as exc:
        assert "r3" in exc.message and "r4" in exc.message
    else:
        raise AssertionError("an ambiguous role must be refused")
    try:
        rootly.pick_incident_role(roles, "Pilot")
    except NotFound as exc:
        assert all(r.name in exc.message for r in roles)
    else:
        raise AssertionError("an unknown role must be not_found")


def test_rootly_membership_change_keeps_admins_members():
    assert rootly.with_member([1, 2], [2], 3, "member") == ([1, 2, 3], [2])
    assert rootly.with_member([1, 2], [2], 3, "admin") == ([1, 2, 3], [2, 3])
    assert rootly.with_member([1, 2], [2], 2, "member") == ([1, 2], [])  # demoted, still a member
    assert rootly.with_member([1, 2], [], 1, "admin") == ([1, 2], [1])


def test_each_provider_reads_its_own_error_body():
    assert (
        rootly.SPEC.upstream_message(b'{"errors":[{"title":"Not found","status":"404","detail":"no user 5"}]}')
        == "Not found - no user 5"
    )
    assert (
        rootly.SPEC.upstream_message(b'{"error":"Rate limit exceeded. Try again later."}')
        == "Rate limit exceeded. Try again later."
    )
    got = opsgenie.SPEC.upstream_message(
        b'{"message":"Request body is not processable.","errors":{"username":"taken"},"took":0.1}'
    )
    assert got.startswith("Request body is not processable.") and "taken" in got
    assert retool.SPEC.upstream_message(b'{"success":false,"message":"User not found"}') == "User not found"
    assert retool.SPEC.upstream_message(b"<html>Bad Gateway</html>") == "<html>Bad Gateway</html>"
    assert opsgenie.SPEC.upstream_message(b"[1, 2]") is None
