"""The SDK's own floor: an MCPServer with one trivial tool, over stdio or in process."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("floor")


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    server.run()
