"""Noticing a caller that hung up while its stream waits on a model server.

A server learns that a client left only when it next writes to it, and a model may send
nothing for many seconds (loading, thinking). Under the gevent worker a small greenlet
waits for the client's socket to become readable: a client that is waiting for its answer
sends nothing, so readable with nothing to read is the end of the connection, and the
upstream call is closed at once. Elsewhere (the gthread fallback, the test client) there is
no watch, and a hang-up is noticed at the next chunk written, as before.
"""

import socket
from collections.abc import Callable
from typing import Any, Optional

import gevent
from gevent import monkey
from gevent.socket import wait_read


class HangupWatch:
    """Calls ``on_hangup`` once when the client's connection ends; ``stop`` ends the watch."""

    def __init__(self, greenlet: Optional[gevent.Greenlet]):
        self._greenlet = greenlet
        self._noticed = False

    @classmethod
    def start(cls, client: Any, on_hangup: Callable[[], None]) -> "HangupWatch":
        """Watch ``client`` (the WSGI server's socket, if it gives one) when sockets are
        cooperative; otherwise a watch that never notices."""
        if not isinstance(client, socket.socket) or not monkey.is_module_patched("socket"):
            return cls(None)
        watch = cls(None)
        watch._greenlet = gevent.spawn(watch._wait, client, on_hangup)
        return watch

    def _wait(self, client: socket.socket, on_hangup: Callable[[], None]) -> None:
        try:
            wait_read(client.fileno())
            if client.recv(1, socket.MSG_PEEK):
                return  # the client sent more (a pipelined request): it is still there
        except ValueError:
            return  # a TLS socket cannot peek: rely on the next write instead
        except OSError:
            pass  # reset by the peer: gone as well
        self._noticed = True
        on_hangup()

    def hung_up(self) -> bool:
        return self._noticed

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
