"""The SDK's own floor: an MCPServer with one trivial tool, over stdio, in process, or over
streamable HTTP (`python -m bench.floor_server --http PORT`, for figure d).

Over HTTP it runs the SDK's stock streamable-HTTP app under uvicorn with the settings `serve`
uses (h11, no WebSocket, the same keep-alive, log level and logging path, lifespan on); what
`serve` adds on top — our header deadline, Host/Origin allow-lists, per-session replay memory,
the tools themselves — is counted against us, not the floor.
"""

from __future__ import annotations

import argparse

from mcp.server.mcpserver import MCPServer

server = MCPServer("floor")


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


def serve_http(port: int) -> None:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    from mcp_directory.web_server import KEEP_ALIVE_TIMEOUT_S

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    config = uvicorn.Config(
        server.streamable_http_app(host="127.0.0.1"),
        host="127.0.0.1",
        port=port,
        http="h11",
        ws="none",
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT_S,  # type: ignore[arg-type]
        log_level="info",
        log_config=None,  # access lines go through the root handler, as in `serve`
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT")
    args = parser.parse_args()
    if args.http:
        serve_http(args.http)
    else:
        server.run()
