"""An SMTP sink of our own for the fault-injection suite (tests/test_outbox_faults.py).

It runs an asyncio server in a thread and counts every message it accepts by its
`X-Outbox-Key` header, at the moment the final dot arrives: what a real server would
deliver. Its faults, set between or during runs:

- `dot_delay`: seconds before the reply to each final dot (a slow or throttling relay);
- `refuse_rcpt` / `refuse_data`: address → reply, at RCPT or at the DATA command;
- `drop_after_dot`: key → True to count the message and then reset the connection
  before replying (the sender cannot know whether it arrived);
- `kill()` / `restart()`: every connection reset and the port closed, then open again.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Callable

KEY = re.compile(rb"\r\nX-Outbox-Key: *(\d+)", re.IGNORECASE)


class _Session(asyncio.Protocol):
    def __init__(self, sink: FaultySink):
        self.sink = sink
        self.buffer = b""
        self.in_data = False
        self.recipients: list[str] = []
        self.ready_at = 0.0  # replies keep their order, each after any delay before it

    def connection_made(self, transport):
        self.transport = transport
        self.sink.transports.add(transport)
        transport.write(b"220 faulty sink ESMTP\r\n")

    def connection_lost(self, exc):
        self.sink.transports.discard(self.transport)

    def _reply(self, data: bytes, delay: float = 0.0) -> None:
        loop = asyncio.get_running_loop()
        self.ready_at = max(self.ready_at + 1e-6, loop.time() + delay)
        loop.call_at(self.ready_at, self._write, data)

    def _write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data):
        self.buffer += data
        while not self.transport.is_closing():
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    break
                content, self.buffer = self.buffer[:end], self.buffer[end + 5 :]
                self.in_data = False
                key = KEY.search(content)
                key = key.group(1).decode() if key else "?"
                self.sink.received[key] += 1
                if self.sink.drop_after_dot(key):
                    self.sink.dropped += 1
                    self.transport.abort()  # a reset before the 250
                    return
                self._reply(b"250 2.0.0 OK queued\r\n", self.sink.dot_delay)
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                break
            line, self.buffer = self.buffer[:line_end], self.buffer[line_end + 2 :]
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self._reply(b"250-faulty sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                self.recipients = []
                self._reply(b"250 OK\r\n")
            elif verb == b"RCPT":
                address = line.decode().partition("<")[2].partition(">")[0]
                refusal = self.sink.refuse_rcpt.get(address)
                if refusal:
                    self._reply(refusal.encode() + b"\r\n")
                else:
                    self.recipients.append(address)
                    self._reply(b"250 OK\r\n")
            elif verb == b"DATA":
                refusal = next(
                    (
                        self.sink.refuse_data[a]
                        for a in self.recipients
                        if a in self.sink.refuse_data
                    ),
                    None,
                )
                if not self.recipients:
                    self._reply(b"554 no valid recipients\r\n")
                elif refusal:
                    self._reply(refusal.encode() + b"\r\n")
                else:
                    self.in_data = True
                    self.buffer = b"\r\n" + self.buffer  # the header's first line matches too
                    self._reply(b"354 go ahead\r\n")
            elif verb == b"RSET":
                self.recipients = []
                self._reply(b"250 OK\r\n")
            elif verb == b"QUIT":
                self._reply(b"221 bye\r\n")
                asyncio.get_running_loop().call_at(self.ready_at + 1e-3, self.transport.close)
            else:
                self._reply(b"250 OK\r\n")


class FaultySink:
    def __init__(self, port: int):
        self.port = port
        self.received: Counter[str] = Counter()
        self.dropped = 0
        self.dot_delay = 0.0
        self.refuse_rcpt: dict[str, str] = {}
        self.refuse_data: dict[str, str] = {}
        self.drop_after_dot: Callable[[str], bool] = lambda key: False
        self.transports: set[asyncio.Transport] = set()
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.restart()

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def restart(self) -> None:
        async def serve():
            self.server = await self.loop.create_server(
                lambda: _Session(self), "127.0.0.1", self.port, reuse_address=True
            )

        self._call(serve())

    def kill(self) -> None:
        """As if the server process died: the port closes, every connection is reset."""

        async def die():
            self.server.close()
            for transport in list(self.transports):
                transport.abort()

        self._call(die())

    def close(self) -> None:
        self.kill()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
