"""Redis Cluster's key -> slot map: CRC16-XMODEM of the key (or its ``{hash tag}``) mod 16384."""

from __future__ import annotations

__all__ = ["SLOTS", "crc16", "hash_tag", "key_slot"]

SLOTS = 16384


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_TABLE = _table()


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0), the variant Redis Cluster uses."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def hash_tag(key: bytes) -> bytes:
    """The part of ``key`` that is hashed: the text between the first ``{`` and the first
    ``}`` after it, if that is non-empty; otherwise the whole key (so ``{}x`` hashes whole)."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return key[start + 1:end]
    return key


def key_slot(key: str | bytes) -> int:
    """The slot ``CLUSTER KEYSLOT key`` reports (str keys are UTF-8 encoded)."""
    data = key.encode() if isinstance(key, str) else bytes(key)
    return crc16(hash_tag(data)) % SLOTS
