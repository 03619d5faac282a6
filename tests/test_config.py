"""Configuration from the environment (SPEC §2)."""

import pytest

from mcp_directory.config import TOOLSETS, Settings


def test_all_three_configured_with_defaults():
    s = Settings.from_env(
        {
            "ROOTLY_API_TOKEN": "r",
            "OPSGENIE_API_KEY": "o",
            "RETOOL_API_TOKEN": "t",
            "RETOOL_BASE_URL": "https://acme.retool.com/",
        }
    )
    assert s.providers["rootly"].base_url == "https://api.rootly.com"
    assert s.providers["opsgenie"].base_url == "https://api.opsgenie.com"
    assert s.providers["retool"].base_url == "https://acme.retool.com"
    assert s.warnings == () and s.allow_writes is False and s.toolsets == TOOLSETS


def test_half_configured_retool_is_a_warning_not_a_provider():
    s = Settings.from_env({"RETOOL_API_TOKEN": "t", "OPSGENIE_BASE_URL": "https://api.eu.opsgenie.com"})
    assert s.providers == {}
    assert any("RETOOL_BASE_URL" in w for w in s.warnings)
    assert any("OPSGENIE_API_KEY" in w for w in s.warnings)
    assert all(w != "t" for w in s.warnings)


def test_flags_win_over_environment():
    env = {"MCP_DIRECTORY_ALLOW_WRITES": "true", "MCP_DIRECTORY_TOOLSETS": "directory", "MCP_DIRECTORY_DEMO": "1"}
    s = Settings.from_env(env)
    assert s.allow_writes and s.toolsets == ("directory",) and s.demo
    s = Settings.from_env(env, allow_writes=False, toolsets="directory,incidents")
    assert not s.allow_writes and s.toolsets == ("directory", "incidents")


def test_unknown_toolset_is_refused():
    with pytest.raises(ValueError, match="unknown toolset"):
        Settings.from_env({"MCP_DIRECTORY_TOOLSETS": "directory,bogus"})


def test_credentials_are_not_in_repr():
    s = Settings.from_env({"ROOTLY_API_TOKEN": "sekrit-token-123", "MCP_DIRECTORY_AUTH_TOKEN": "auth-456"})
    assert "sekrit-token-123" not in repr(s) and "auth-456" not in repr(s)
    assert set(s.secrets) >= {"sekrit-token-123", "auth-456"}
