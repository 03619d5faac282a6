"""mcp-directory: one MCP server, one normalized set of tools, for the user directories of several
providers (the list is `mcp_directory.providers.PROVIDERS`)."""

__version__ = "0.1.0"
