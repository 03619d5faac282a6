"""Replay memory for resumable `/mcp` streams (SEP-1699): one store per session, one byte budget.

A client whose SSE stream dropped reconnects with `GET /mcp` + `Last-Event-ID` and gets what it
missed on that stream. The SDK's `EventStore` interface carries no session id: handed one store for
all sessions, a `Last-Event-ID` from session A, sent with session B's id, replays A's stream to B —
and since stream ids are JSON-RPC request ids that every client reuses, a client resuming its own
stream also got other sessions' answers to the same id. So every session gets its own store
(`SessionEventStore`), handed to its transport when the session is admitted
(`IsolatedSessionManager`): a replay can only ever read the asking session's events. Event ids are
128 random bits besides, so nobody can guess one.

Memory is bounded in bytes (one proxied answer can be 150 KB): `EventStores` holds the process's
budget (default 16 MiB) and a cap per session (default 4 MiB), evicts the oldest events first, and
drops a session's events when the session ends (DELETE, idle timeout, crash). A client that comes
back after its events were evicted simply gets nothing replayed.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from mcp.server.streamable_http import (
    EventCallback,
    EventId,
    EventMessage,
    EventStore,
    StreamableHTTPServerTransport,
    StreamId,
)
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.types import JSONRPCMessage, jsonrpc_message_adapter

MiB = 1024 * 1024
MAX_BYTES = 16 * MiB
SESSION_MAX_BYTES = 4 * MiB
# What an event costs besides its JSON: its id, the entry in two ordered dicts, the record.
EVENT_OVERHEAD = 256


@dataclass(frozen=True, slots=True)
class Event:
    stream_id: StreamId
    data: bytes | None  # the message as sent (JSON); None for a priming event
    size: int


class SessionEventStore(EventStore):
    """One session's events, oldest first. Only its own transport ever sees it."""

    def __init__(self, stores: EventStores) -> None:
        self._stores = stores
        self.events: OrderedDict[EventId, Event] = OrderedDict()
        self.bytes = 0
        self.closed = False

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = secrets.token_urlsafe(16)
        # Kept as JSON: its length is what it costs, unlike a tree of pydantic objects.
        data = (
            None if message is None else jsonrpc_message_adapter.dump_json(message, by_alias=True, exclude_unset=True)
        )
        size = EVENT_OVERHEAD + len(stream_id) + len(data or b"")
        if not self.closed:  # a late answer of an ended session is sent, not kept
            self._stores.add(self, event_id, Event(stream_id, data, size))
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        # A snapshot: sending awaits the client, and new events may arrive or be evicted meanwhile.
        events = list(self.events.items())
        start = next((i for i, (event_id, _) in enumerate(events) if event_id == last_event_id), None)
        if start is None:
            return None
        stream_id = events[start][1].stream_id
        for event_id, event in events[start + 1 :]:
            if event.stream_id == stream_id and event.data is not None:
                message = jsonrpc_message_adapter.validate_json(event.data, by_name=False)
                await send_callback(EventMessage(message, event_id))
        return stream_id


class EventStores:
    """Every session's `SessionEventStore`, under one byte budget; oldest events evicted first."""

    def __init__(self, max_bytes: int = MAX_BYTES, session_max_bytes: int = SESSION_MAX_BYTES) -> None:
        if max_bytes <= 0 or session_max_bytes <= 0:
            raise ValueError("event store limits must be positive numbers of bytes")
        self.max_bytes = max_bytes
        self.session_max_bytes = min(session_max_bytes, max_bytes)
        self.bytes = 0
        self._sessions: dict[str, SessionEventStore] = {}
        self._oldest: OrderedDict[EventId, SessionEventStore] = OrderedDict()  # across sessions

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    def open(self, session_id: str) -> SessionEventStore:
        store = self._sessions[session_id] = SessionEventStore(self)
        return store

    def close(self, session_id: str) -> None:
        """The session ended: forget its events, and keep none it might still produce."""
        store = self._sessions.pop(session_id, None)
        if store is None:
            return
        store.closed = True
        for event_id in list(store.events):
            self._evict(store, event_id)

    def add(self, store: SessionEventStore, event_id: EventId, event: Event) -> None:
        if event.size > self.session_max_bytes:
            return  # too big to keep: resuming after it replays nothing, as if evicted
        store.events[event_id] = event
        store.bytes += event.size
        self.bytes += event.size
        self._oldest[event_id] = store
        while store.bytes > self.session_max_bytes:
            self._evict(store, next(iter(store.events)))
        while self.bytes > self.max_bytes:
            oldest, owner = next(iter(self._oldest.items()))
            self._evict(owner, oldest)

    def _evict(self, store: SessionEventStore, event_id: EventId) -> None:
        event = store.events.pop(event_id)
        store.bytes -= event.size
        self.bytes -= event.size
        del self._oldest[event_id]


class IsolatedSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager, with one event store per session instead of one for all.

    The SDK gives every session's transport the manager's single `event_store`; the session id is
    known only where a session is admitted and discarded, so those are the two hooks. The manager
    itself gets no store: should a future SDK rename a hook, sessions lose resumability, never
    isolation (the tests notice either way).
    """

    def __init__(self, app: Any, events: EventStores, **options: Any) -> None:
        super().__init__(app, event_store=None, **options)
        self.events = events

    def _admit_session(self, requestor: Any) -> StreamableHTTPServerTransport | None:
        transport = super()._admit_session(requestor)
        if transport is not None and transport.mcp_session_id is not None:
            transport._event_store = self.events.open(transport.mcp_session_id)
        return transport

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        self.events.close(session_id)
        await super()._discard_session(session_id, transport)
