"""A byte-exact SMTP client for hostile-input tests: sends exactly the bytes given (bare CR, NUL,
pipelined commands ...) and reads replies one at a time, so a test can count them."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time


class RawSMTP:
    def __init__(self, port: int, source: str = "127.0.0.1", timeout: float = 30.0) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
        )
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def reply(self) -> tuple[int, str]:
        """One complete reply (all lines of a multi-line reply); (0, "") if the server closed."""
        lines: list[str] = []
        while True:
            while b"\r\n" not in self.buffer:
                if not self._fill():
                    return (0, "\n".join(lines))
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return (int(text[:3]) if text[:3].isdigit() else -1, "\n".join(lines))

    def command(self, line: str | bytes) -> tuple[int, str]:
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def hello(self, name: str = "client.example.co.jp") -> None:
        code, text = self.reply()
        assert code == 220, text
        code, text = self.command(f"EHLO {name}")
        assert code == 250, text

    def pending(self, wait: float = 0.5) -> bytes:
        """Whatever the server sent that nobody asked for, within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            self._fill()
        except (TimeoutError, ssl.SSLWantReadError):
            pass
        finally:
            self.sock.settimeout(30)
        data, self.buffer = self.buffer, b""
        return data

    def closed_within(self, seconds: float) -> bool:
        """True when the server closes the connection within `seconds` (reading whatever it says)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                if not self._fill():
                    return True
            except TimeoutError:
                return False
            except OSError:
                return True
        return False

    def starttls(self, context: ssl.SSLContext) -> None:
        assert not self.buffer, self.buffer
        self.sock = context.wrap_socket(self.sock, server_hostname="gw.test")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> RawSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
