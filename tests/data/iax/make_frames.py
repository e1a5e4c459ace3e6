#!/usr/bin/env python3
"""Writes the IAX2 frames of this folder (RFC 5456 layouts) as raw UDP payloads.

Run from anywhere: python3 tests/data/iax/make_frames.py. The frames follow what Asterisk's
chan_iax2 sends for registration, calls and qualify; numbers and names are examples.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# IE identifiers (RFC 5456 section 8.6)
CALLED_NUMBER, CALLING_NUMBER, CALLING_NAME, USERNAME = 1, 2, 4, 6
CAPABILITY, FORMAT, VERSION, AUTHMETHODS, CHALLENGE = 8, 9, 11, 14, 15
MD5_RESULT, APPARENT_ADDR, REFRESH, CAUSE, DATETIME = 16, 18, 19, 22, 31
CAUSECODE, CALLTOKEN = 42, 54
IAX = 6  # frame type
VOICE = 2


def ie(kind, data):
    if isinstance(data, str):
        data = data.encode()
    return bytes([kind, len(data)]) + data


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def full(src, dst, ts, oseq, iseq, ftype, subclass, ies=b"", retransmitted=False):
    return (struct.pack(">HHIBBBB", 0x8000 | src, (0x8000 if retransmitted else 0) | dst, ts, oseq, iseq,
                        ftype, subclass) + ies)


FRAMES = {
    "regreq": full(2, 0, 3, 0, 0, IAX, 13, ie(USERNAME, "100") + ie(REFRESH, u16(60))),
    "regauth": full(1, 2, 5, 0, 1, IAX, 14,
                    ie(AUTHMETHODS, u16(2)) + ie(CHALLENGE, "214799834") + ie(USERNAME, "100")),
    "regreq_md5": full(2, 1, 12, 1, 1, IAX, 13,
                       ie(USERNAME, "100") + ie(MD5_RESULT, "b7e3c7a5d1f0e4a2c9b8d7e6f5a4b3c2") +
                       ie(REFRESH, u16(60))),
    "regack": full(1, 2, 15, 1, 2, IAX, 15,
                   ie(USERNAME, "100") + ie(DATETIME, u32(0x5a8c3d21)) + ie(REFRESH, u16(60)) +
                   ie(APPARENT_ADDR, struct.pack("<HH4s8x", 2, 0x11d9, bytes([192, 0, 2, 20]))) +
                   ie(CALLING_NUMBER, "100") + ie(CALLING_NAME, "Alice")),
    "regrej": full(1, 2, 15, 1, 2, IAX, 16, ie(CAUSE, "Registration Refused") + ie(CAUSECODE, bytes([29]))),
    "new": full(5, 0, 4, 0, 0, IAX, 1,
                ie(VERSION, u16(2)) + ie(CALLED_NUMBER, "0044207946000") + ie(CALLING_NUMBER, "100") +
                ie(CALLING_NAME, "Alice") + ie(USERNAME, "100") + ie(FORMAT, u32(4)) +
                ie(CAPABILITY, u32(0x0000ff0e)) + ie(CALLTOKEN, b"")),
    "authreq": full(7, 5, 9, 0, 1, IAX, 8,
                    ie(AUTHMETHODS, u16(3)) + ie(CHALLENGE, "598176243") + ie(USERNAME, "100")),
    "authrep": full(5, 7, 14, 1, 1, IAX, 9, ie(MD5_RESULT, "0cc175b9c0f1b6a831c399e269772661")),
    "accept": full(7, 5, 17, 1, 2, IAX, 7, ie(FORMAT, u32(4))),
    "reject": full(7, 5, 17, 1, 2, IAX, 6, ie(CAUSE, "No authority found") + ie(CAUSECODE, bytes([21]))),
    "hangup": full(5, 7, 9000, 5, 4, IAX, 5, ie(CAUSE, "Normal Clearing") + ie(CAUSECODE, bytes([16]))),
    "poke": full(3, 0, 1, 0, 0, IAX, 30),
    "pong": full(9, 3, 2, 0, 1, IAX, 3, ie(DATETIME, u32(0x5a8c3d21))),
    "ack": full(5, 7, 17, 2, 2, IAX, 4),
    "lagrq": full(5, 7, 10000, 6, 5, IAX, 11, retransmitted=True),
    "voice_full": full(5, 7, 20, 3, 3, VOICE, 4, bytes(160)),
    "mini_voice": u16(5) + u16(40) + bytes(160),
    "meta_trunk": u16(0) + bytes([1, 0]) + u32(1000) + u16(5) + u16(20) + bytes(20),
    # Invalid: the USERNAME IE claims 20 bytes, 3 are there.
    "invalid_truncated_ie": full(2, 0, 3, 0, 0, IAX, 13, bytes([USERNAME, 20]) + b"100"),
    "invalid_short_full_header": bytes([0x80, 0x02, 0x00, 0x00, 0x00]),
}

for name, data in FRAMES.items():
    with open(os.path.join(HERE, name + ".bin"), "wb") as f:
        f.write(data)
