#!/usr/bin/python3
"""Writes cipher_vectors.json: payloads encrypted as pyeventsourcing's AESCipher stores them, for the unit test
of projectord's aes codecs (tests/unit/test_aes_payload_codecs.cpp).

Each vector is one codec and key size: the event state as pyeventsourcing's JSONTranscoder writes it (compact
JSON, UTF-8, {"_type_": NAME, "_data_": V} markers for a UUID and a datetime), compressed by zlib.compress at its
default level for the zlib codec, then encrypted with PyCryptodome's AES in GCM mode and stored as
nonce(12) | tag(16) | ciphertext. "expected" is the data projectord decodes it to: markers replaced by plain
strings. Keys and nonces are fixed so the file is the same on every run; a real writer draws a random nonce
per payload.

Run with Debian's python3-pycryptodome (module Cryptodome) or PyPI's pycryptodome (module Crypto):
    /usr/bin/python3 tests/vectors/make_cipher_vectors.py > tests/vectors/cipher_vectors.json
"""

import base64
import datetime
import json
import sys
import uuid
import zlib

try:
    from Cryptodome.Cipher import AES
except ImportError:
    from Crypto.Cipher import AES

USER_ID = uuid.UUID("6c1f9a52-8b1e-4f0a-9d33-0e2f5a7b4c19")
REGISTERED_AT = datetime.datetime(2024, 2, 7, 15, 32, 51, 123456, tzinfo=datetime.timezone.utc)


def transcoder_marker(value):
    """What JSONTranscoder writes for the types it does not leave to json itself."""
    if isinstance(value, uuid.UUID):
        return {"_type_": "uuid_hex", "_data_": value.hex}
    if isinstance(value, datetime.datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    raise TypeError(f"no transcoding for {type(value).__name__}")


def state(key_bytes, codec):
    return {
        "user_id": USER_ID,
        "timestamp": REGISTERED_AT,
        "email": f"ann.{key_bytes}@example.com",
        "name": "Ann Ünal",
        "tags": ["vip", codec],
        "originator_topic": "users.domain:User.Registered",
    }


def expected(key_bytes, codec):
    data = state(key_bytes, codec)
    data["user_id"] = str(USER_ID)
    data["timestamp"] = REGISTERED_AT.isoformat()
    return data


def transcoded(data):
    encoder = json.JSONEncoder(default=transcoder_marker, separators=(",", ":"), ensure_ascii=False)
    return encoder.encode(data).encode("utf8")


def encrypted(key, nonce, plaintext):
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return nonce + tag + ciphertext


def main():
    vectors = []
    for codec in ("eventsourcing_json_aes", "eventsourcing_json_zlib_aes"):
        for key_bytes in (16, 24, 32):
            key = bytes(range(key_bytes, 2 * key_bytes))
            nonce = bytes([len(vectors)]) * 12
            plaintext = transcoded(state(key_bytes, codec))
            if "zlib" in codec:
                plaintext = zlib.compress(plaintext)
            vectors.append({
                "codec": codec,
                "key": base64.b64encode(key).decode("ascii"),
                "payload": encrypted(key, nonce, plaintext).hex(),
                "expected": expected(key_bytes, codec),
            })
    json.dump({"vectors": vectors}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
