"""mcp-directory: one MCP server for the user directories of Rootly, Opsgenie and Retool."""

__version__ = "0.1.0"
