"""SPEC §9: a question to the human answered with a JSON-RPC error, with anything but a valid
answer (`result: null`, a string, an unknown action), or not at all within the deadline is
`cancelled`: nothing is sent, never an internal error, never a call left pending, and the server
keeps serving. Over raw stdio (JSON-RPC written by hand to the real program, as a careless client
would), and in process through the SDK's client."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import threading
from queue import Empty, Queue
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_directory.confirmations import duration
from mcp_directory.server import build_server
from mcp_directory.sim import build_world

from .redis_support import ROOT
from .support import clean_env, fails, ok, sim_directory

DEADLINE_S = 2.0
# The real program (`mcp-directory serve --demo --allow-writes`), with the question's deadline
# shortened from SPEC §9's 10 minutes: `Settings.elicit_deadline` is not an operator setting.
LAUNCH = """
import dataclasses, sys
from mcp_directory.cli import main
from mcp_directory.config import Settings
read = Settings.from_env
Settings.from_env = lambda *a, **k: dataclasses.replace(read(*a, **k), elicit_deadline=float(sys.argv[1]))
sys.exit(main(sys.argv[2:]))
"""
WAIT_S = 30.0  # for any one message: far past the deadline


class RawClient:
    """JSON-RPC over the program's stdin/stdout, by hand: a reader thread queues every message."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.inbox: Queue[dict[str, Any]] = Queue()
        self.early: dict[Any, dict[str, Any]] = {}  # responses that came while waiting for another
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.inbox.put(json.loads(line))

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def next(self, wanted: Any = None) -> dict[str, Any]:
        """The next server request (`wanted` None), or the response to request `wanted`."""
        if wanted is not None and wanted in self.early:
            return self.early.pop(wanted)
        while True:
            try:
                message = self.inbox.get(timeout=WAIT_S)
            except Empty:
                raise AssertionError(f"no message from the server in {WAIT_S} s (waiting for {wanted!r})") from None
            if "method" in message and "id" in message:  # a request from the server
                if wanted is None:
                    return message
                raise AssertionError(f"unexpected server request {message}")
            if "method" in message:  # a notification (a log line): not what we wait for
                continue
            if message.get("id") == wanted:
                return message
            self.early[message.get("id")] = message

    def call(self, request_id: int, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.send(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {"name": tool, "arguments": arguments},
            }
        )
        return self.next(request_id)


def tool_result(response: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    result = response["result"]
    return bool(result.get("isError")), json.loads(result["content"][0]["text"])


# How each careless client answers `elicitation/create` (None: it never answers), and what the
# cancelled error then says.
ANSWERS: list[tuple[str, dict[str, Any] | None, str]] = [
    ("a JSON-RPC error", {"error": {"code": -32603, "message": "the client fell over"}}, "answered with an error"),
    ("an unknown action", {"result": {"action": "maybe"}}, "not a true or false confirm"),
    ("result: null", {"result": None}, f"did not answer within {duration(DEADLINE_S)}"),
    ("a string result", {"result": "yes"}, f"did not answer within {duration(DEADLINE_S)}"),
    ("no answer", None, f"did not answer within {duration(DEADLINE_S)}"),
]


def test_answers_that_are_not_answers_cancel_over_raw_stdio():
    with tempfile.TemporaryFile("w+") as errlog:
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(DEADLINE_S), "serve", "--demo", "--allow-writes"],
            cwd=ROOT,
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            text=True,
        )
        try:
            client = RawClient(proc)
            client.send(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {"elicitation": {}},
                        "clientInfo": {"name": "careless", "version": "0"},
                    },
                }
            )
            assert client.next(1)["result"]["protocolVersion"] == "2025-11-25"
            client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            _, page = tool_result(client.call(2, "list_users", {"provider": "retool", "limit": len(ANSWERS)}))
            users = [u["id"] for u in page["result"] if u["status"] == "active"]
            assert len(users) == len(ANSWERS)
            request_id = 10
            for (what, reply, says), user_id in zip(ANSWERS, users, strict=True):
                request_id += 1
                args = {"provider": "retool", "user_id": user_id, "confirm": True}
                client.send(
                    {
                        "jsonrpc": "2.0",
                        "id": request_id,
                        "method": "tools/call",
                        "params": {"name": "deactivate_user", "arguments": args},
                    }
                )
                question = client.next()
                assert question["method"] == "elicitation/create" and user_id in question["params"]["message"]
                if reply is not None:
                    client.send({"jsonrpc": "2.0", "id": question["id"], **reply})
                # the server keeps serving while the question stands
                _, other = tool_result(
                    client.call(100 + request_id, "get_user", {"provider": "retool", "user_id": user_id})
                )
                assert other["result"]["status"] == "active", what
                is_error, data = tool_result(client.next(request_id))
                assert is_error and data["error"]["code"] == "cancelled", (what, data)
                assert says in data["error"]["message"] and "nothing was sent" in data["error"]["message"], what
                if reply is None:  # a "yes" after the deadline changes nothing
                    client.send(
                        {
                            "jsonrpc": "2.0",
                            "id": question["id"],
                            "result": {"action": "accept", "content": {"confirm": True}},
                        }
                    )
            for user_id in users:  # nothing was sent: every account is still active
                _, user = tool_result(client.call(200, "get_user", {"provider": "retool", "user_id": user_id}))
                assert user["result"]["status"] == "active"
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        errlog.seek(0)
        log = errlog.read()
    assert "Traceback" not in log and "internal error" not in log
    audit = [json.loads(line) for line in log.splitlines() if line.startswith('{"event":"write"')]
    assert [(line["tool"], line.get("code")) for line in audit] == [("deactivate_user", "cancelled")] * len(ANSWERS)


@pytest.mark.anyio
async def test_a_human_who_never_answers_cancels_the_call_in_process():
    world = build_world(seed=3, people=20)
    directory, apps = sim_directory(world, allow_writes=True)
    directory.settings = dataclasses.replace(directory.settings, elicit_deadline=0.5)

    async def away(context: Any, params: Any) -> Any:
        await anyio.sleep_forever()

    user_id = str(list(world.retool.users)[2])
    async with Client(build_server(directory), mode="legacy", elicitation_callback=away) as c:
        err = await fails(
            c, "deactivate_user", {"provider": "retool", "user_id": user_id, "confirm": True}, "cancelled"
        )
        assert "did not answer within 0.5 seconds" in err["message"]
        assert (await ok(c, "get_user", {"provider": "retool", "user_id": user_id}))["result"]["status"] == "active"
    assert not [r for a in apps.values() for r in a.state.requests if r.method != "GET"]
