"""Many open soundboard pages from one test: raw asyncio WebSocket clients that read every frame.

A page here is what a browser tab is to the server: a WebSocket that stays open and reads what it
is sent (the latest counter it saw is kept). Hundreds fit in one thread, which threaded clients
could not do cheaply.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from dataclasses import dataclass, field


@dataclass
class Page:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    counter: int = -1
    messages: list[dict] = field(default_factory=list)
    closed: bool = False
    close_code: int | None = None


async def open_page(host: str, port: int, path: str = "/ws", headers: dict[str, str] | None = None) -> Page:
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise ConnectionError(head.decode(errors="replace"))
    return Page(reader, writer)


async def read_frames(page: Page, keep_messages: bool = False) -> None:
    """Reads until the server closes; answers pings like a browser does."""
    try:
        while True:
            first, second = await page.reader.readexactly(2)
            opcode, size = first & 0x0F, second & 0x7F
            if size == 126:
                size = struct.unpack(">H", await page.reader.readexactly(2))[0]
            elif size == 127:
                size = struct.unpack(">Q", await page.reader.readexactly(8))[0]
            payload = await page.reader.readexactly(size)
            if opcode == 0x1:
                message = json.loads(payload)
                if message.get("type") == "counterUpdate":
                    page.counter = max(page.counter, message["counter"])
                if keep_messages:
                    page.messages.append(message)
            elif opcode == 0x9:
                send_frame(page, 0xA, payload)
            elif opcode == 0x8:
                page.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        page.closed = True


def close_pages(pages: list[Page], readers: list[asyncio.Future]) -> None:
    """Hangs up every page and stops reading them."""
    for page in pages:
        page.writer.close()
    for reader in readers:
        reader.cancel()


def send_frame(page: Page, opcode: int, payload: bytes) -> None:
    """A masked client frame (RFC 6455 requires clients to mask)."""
    mask = os.urandom(4)
    size = len(payload)
    header = bytes([0x80 | opcode])
    if size < 126:
        header += bytes([0x80 | size])
    elif size < 1 << 16:
        header += bytes([0x80 | 126]) + struct.pack(">H", size)
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", size)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    page.writer.write(header + mask + masked)


def run_pages(scenario):
    """``asyncio.run(scenario())`` on a thread of its own: the browser tests' Playwright keeps an
    event loop running on the main thread, where asyncio.run refuses to start another."""
    import threading

    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(scenario())
        except BaseException as error:  # noqa: BLE001 - raised again in the caller
            outcome["error"] = error

    thread = threading.Thread(target=target, name="open-pages")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def send_json(page: Page, message: dict) -> None:
    send_frame(page, 0x1, json.dumps(message).encode())
