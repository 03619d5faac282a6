"""The bundle's entry point: the stdio server, as `mcp-directory serve` starts it.

Claude Desktop runs it through `uv run` (manifest.json, server.mcp_config), which first installs
the wheel bundled beside it and the dependencies locked in uv.lock. The settings arrive as
environment variables, from the user_config the manifest asks for.
"""

import sys

from mcp_directory.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
