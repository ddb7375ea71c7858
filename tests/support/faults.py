"""Fault injection for the tests: a TCP proxy on loopback that can refuse, stall or cut connections.

``FaultyProxy(target_port)`` listens on a free 127.0.0.1 port and forwards to
``127.0.0.1:target_port``. ``mode`` says what happens to new connections:

* ``pass``: forward both ways;
* ``refuse``: accept and close at once (the client sees a reset or an empty answer);
* ``stall``: forward the request, then hold the answer after ``after`` bytes, forever;
* ``cut``: forward the answer up to ``after`` bytes, then close both sides;
* ``slow``: forward, waiting ``delay`` seconds before each chunk of the answer.

``faults`` limits how many times a fault is applied before the proxy passes
again (``None``: every time), so a test can check that a retry recovers.
"""
from __future__ import annotations

import socket
import threading


class FaultyProxy:
    def __init__(self, target_port: int, mode: str = "pass", after: int = 0, faults: int | None = None,
                 delay: float = 0.0):
        self.target_port = target_port
        self.mode = mode
        self.after = after
        self.faults = faults
        self.delay = delay
        self.faulted = 0
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, mode: str, after: int = 0, faults: int | None = None, delay: float = 0.0) -> None:
        with self._lock:
            self.mode, self.after, self.faults, self.delay, self.faulted = mode, after, faults, delay, 0

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _take_fault(self) -> bool:
        """Whether to apply the fault now (and count it), given the budget."""
        with self._lock:
            if self.faults is not None and self.faulted >= self.faults:
                return False
            self.faulted += 1
            return True

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                mode, after = self.mode, self.after
            if mode == "refuse" and self._take_fault():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            threading.Thread(target=self._pipe, args=(client, upstream, None, "pass"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, after, mode), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, after: int | None, mode: str) -> None:
        """Copy ``src`` to ``dst``; for answers, apply the fault once ``after`` bytes went through."""
        sent = 0
        try:
            while not self._stop.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if mode == "slow":
                    self._stop.wait(self.delay)
                elif mode in ("stall", "cut") and sent + len(data) > after and self._take_fault():
                    dst.sendall(data[:max(0, after - sent)])
                    if mode == "stall":
                        self._stop.wait()  # hold the connection open, answer nothing more
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
