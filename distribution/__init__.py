"""How people install mcp-directory, derived from the code so that no second list can drift.

    python -m distribution           # write server.json and manifest.json
    python -m distribution --check   # exit 1 on drift, a schema error or a missing README marker
    python -m distribution.bundle WHEEL --out DIR   # the Claude Desktop bundle (.mcpb) from a wheel

Three channels, one source each:

- PyPI (`uvx mcp-user-directory serve`): pyproject.toml names the distribution (`mcp-user-directory`;
  on PyPI `mcp-directory` is an unrelated package) and its two commands, `mcp-user-directory` and
  `mcp-directory`; the version is `mcp_directory.__version__`.
- The MCP registry: `server.json`, its environment variables from the providers' own settings
  (`mcp_directory.providers.PROVIDERS`), checked against the registry's schema (`schemas/`).
- Claude Desktop: `manifest.json` (MCPB), asking for the same settings and listing the registry's
  tools (`mcp_directory.tools.full_set()`); `bundle.py` packs it with the wheel.

This package is a build tool: it is not part of the wheel.
"""
