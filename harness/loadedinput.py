"""What a client has loaded into the DUT and asked it to run, read from the commands serve relays.

`tinyperf serve --energy` (and `tinyperf runner ... -m e`) must give each window the length
`tinyperf run --mode energy` gives it.  On boards with memory timing that length includes the
window's memory stalls, which `run` measures per input (harness.runner.measure_memory).  serve
never sees the input as a sample, only as the EEMBC commands that carry it: `db load N`, then
`db <hex>` chunks until N bytes, then `infer N [W]`.  This module follows those commands.
"""
from __future__ import annotations

import re

_HEX = re.compile(rb"[0-9a-fA-F]+")


class LoadedInput:
    """The input buffer the firmware holds and the iterations of the last `infer`."""

    def __init__(self) -> None:
        self._size = 0
        self._buffer = bytearray()
        self.iterations = 0

    @property
    def data(self) -> bytes | None:
        """The loaded input, or None while `db load N` has not been followed by N bytes."""
        return bytes(self._buffer) if self._size and len(self._buffer) == self._size else None

    def feed(self, command: bytes) -> None:
        """One whole command as the client sent it (with or without its trailing `%`)."""
        tokens = command.rstrip(b"%").split()
        if len(tokens) == 3 and tokens[:2] == [b"db", b"load"] and tokens[2].isdigit():
            self._size, self._buffer = int(tokens[2]), bytearray()
        elif len(tokens) == 2 and tokens[0] == b"db" and _HEX.fullmatch(tokens[1]) and len(tokens[1]) % 2 == 0:
            room = self._size - len(self._buffer)
            self._buffer += bytes.fromhex(tokens[1].decode())[:max(room, 0)]
        elif len(tokens) in (2, 3) and tokens[0] == b"infer" and tokens[1].isdigit():
            self.iterations = int(tokens[1])
