"""Response bodies read in bounded pieces, compressed ones included.

httpx decodes ``Content-Encoding: gzip`` one network read at a time with no bound on what a
read inflates to: 64 KB of a gzip bomb is ~64 MB before any of our length checks sees a
byte. Here the raw bytes are inflated at most :data:`PIECE` bytes at a time, so every limit
downstream (a stream line, a JSON body, an error body) holds for compressed bodies too.

We ask for ``gzip, deflate`` or nothing (:data:`ACCEPT_ENCODING`, whatever decoders httpx
happens to have installed); a body in another encoding, or one that does not decode, is a
:class:`ProtocolError`.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

from hybrid_tui.errors import ProtocolError

#: the most one step of inflating a compressed body may produce
PIECE = 64 * 1024
#: the encodings we can inflate in bounded pieces, sent as ``Accept-Encoding``
ACCEPT_ENCODING = "gzip, deflate"

_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def encoding_of(response: httpx.Response, backend: str = "") -> str | None:
    """The one compression the body is in (lower case), or None for a plain body."""
    named = response.headers.get("content-encoding", "").lower().split(",")
    layers = [layer for layer in map(str.strip, named) if layer and layer != "identity"]
    if not layers:
        return None
    if len(layers) > 1 or layers[0] not in _WBITS:
        raise ProtocolError(
            f"the server sent a body in an encoding we did not ask for "
            f"({', '.join(layers)}; we accept {ACCEPT_ENCODING})",
            backend=backend,
        )
    return layers[0]


async def body_pieces(response: httpx.Response, backend: str = "") -> AsyncIterator[bytes]:
    """The body's bytes, decompressed when the server compressed them, in pieces of at
    most :data:`PIECE` bytes when inflated (a plain body comes as the socket gives it).
    Raises :class:`ProtocolError` for a body that does not decode."""
    encoding = encoding_of(response, backend)
    if encoding is None:
        async for data in response.aiter_raw():
            yield data
        return
    inflater: _Inflater | None = None
    held = b""  # the first bytes, until there are enough to tell zlib from raw deflate
    async for data in response.aiter_raw():
        if inflater is None:
            held += data
            if len(held) < 2:
                continue
            inflater, data = _Inflater(encoding, held, backend), held
        for piece in inflater.feed(data):
            yield piece
    if inflater is None and held:
        for piece in _Inflater(encoding, held, backend).feed(held):
            yield piece


class _Inflater:
    """zlib inflation in bounded steps: ``decompress`` with a ``max_length`` leaves what it
    did not inflate in ``unconsumed_tail``, fed back until the input is used up."""

    def __init__(self, encoding: str, first: bytes, backend: str) -> None:
        self._encoding = encoding
        self._backend = backend
        wbits = _WBITS[encoding]
        # "deflate" is zlib-wrapped by the standard, raw deflate by some servers: tell by
        # whether the first bytes are a valid zlib header
        if encoding == "deflate" and not _zlib_header(first):
            wbits = -zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Inflate ``data`` one piece at a time, lazily: a consumer that stops at its limit
        never makes the rest. Bytes after the end of the compressed stream are ignored (a
        body cut short is left to the parsers, which know whether the reply was whole)."""
        while data and not self._z.eof:
            try:
                out = self._z.decompress(data, PIECE)
            except zlib.error:
                raise ProtocolError(f"the server's {self._encoding} body does not decode",
                                    backend=self._backend) from None  # fmt: skip
            if out:
                yield out
            data = self._z.unconsumed_tail


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0
