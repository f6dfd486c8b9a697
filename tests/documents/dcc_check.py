#!/usr/bin/env python3
"""Verifies an EU DCC "HC1:" code the way a verifier app does, independently of Ulus.

    dcc_check.py [--any-kid] CODE_FILE PEM_FILE

CODE_FILE holds the HC1 text ("-" reads it from standard input); PEM_FILE the signer's public key
("BEGIN PUBLIC KEY"). The script undoes Base45, zlib (or takes the COSE_Sign1 uncompressed, as the
specification allows), reads the COSE_Sign1 with cbor2, checks that its kid is the first 8 bytes of
SHA-256 over the key's SubjectPublicKeyInfo, rebuilds the Sig_structure and checks the ES256
signature with cryptography. --any-kid skips the kid check, for codes from issuers whose kid is
taken from a certificate rather than the key (the DCC trust lists' way). On success it prints the hcert as JSON and exits 0; an invalid code
exits 1 with the reason on standard error; bad arguments exit 2.
"""

import hashlib
import io
import json
import sys
import zlib

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
MAX_INFLATED = 64 * 1024


class Invalid(Exception):
    pass


def base45_decode(text):
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = text[i:i + 3]
        if len(chunk) < 2 or any(c not in ALPHABET for c in chunk):
            raise Invalid("not Base45")
        n = sum(ALPHABET.index(c) * 45**k for k, c in enumerate(chunk))
        if n > (0xFFFF if len(chunk) == 3 else 0xFF):
            raise Invalid("Base45 group out of range")
        out += n.to_bytes(len(chunk) - 1, "big")
    return bytes(out)


def inflate(data):
    if len(data) < 2 or data[0] & 0x0F != 8 or ((data[0] << 8) | data[1]) % 31 != 0:
        return data  # not zlib: the COSE_Sign1 itself
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, MAX_INFLATED + 1)
    except zlib.error as e:
        raise Invalid(f"zlib: {e}") from None
    if len(out) > MAX_INFLATED or not d.eof or d.unused_data:
        raise Invalid("zlib: too large, truncated, or trailing bytes")
    return out


def cbor_loads_exact(data, what):
    fp = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(fp).decode()
    except Exception as e:  # cbor2 raises several types
        raise Invalid(f"{what}: bad CBOR: {e}") from None
    if fp.tell() != len(data):
        raise Invalid(f"{what}: trailing bytes")
    return value


def verify(hc1, public_key, check_kid=True):
    if not hc1.startswith("HC1:"):
        raise Invalid('no "HC1:" prefix')
    cose = cbor_loads_exact(inflate(base45_decode(hc1[4:])), "COSE_Sign1")
    if isinstance(cose, cbor2.CBORTag):
        if cose.tag != 18:
            raise Invalid(f"tag {cose.tag}, not 18")
        cose = cose.value
    if not isinstance(cose, list) or len(cose) != 4:
        raise Invalid("COSE_Sign1 is not an array of four")
    protected_bytes, unprotected, payload, signature = cose
    if not all(isinstance(x, bytes) for x in (protected_bytes, payload, signature)):
        raise Invalid("COSE_Sign1 members have the wrong types")
    protected = cbor_loads_exact(protected_bytes, "protected header") if protected_bytes else {}
    if not isinstance(protected, dict) or not isinstance(unprotected, dict):
        raise Invalid("COSE headers are not maps")
    if protected.get(1) != -7:
        raise Invalid("the algorithm is not ES256")
    kid = protected.get(4, unprotected.get(4))
    spki = public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    if not isinstance(kid, bytes) or not kid:
        raise Invalid("no kid")
    if check_kid and kid != hashlib.sha256(spki).digest()[:8]:
        raise Invalid("the kid does not name this key")
    if len(signature) != 64:
        raise Invalid("an ES256 signature is 64 bytes")

    sig_structure = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                               int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, sig_structure, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Invalid("the signature does not verify") from None

    claims = cbor_loads_exact(payload, "CWT")
    if not isinstance(claims, dict):
        raise Invalid("the payload is not a CWT map")
    if not isinstance(claims.get(1), str) or not all(isinstance(claims.get(k), int) for k in (4, 6)):
        raise Invalid("iss, exp or iat is missing or of the wrong type")
    hcert = claims.get(-260, {}).get(1) if isinstance(claims.get(-260), dict) else None
    if not isinstance(hcert, dict):
        raise Invalid("no hcert (-260/1)")
    return hcert


def main(argv):
    check_kid = "--any-kid" not in argv
    argv = [a for a in argv if a != "--any-kid"]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        hc1 = (sys.stdin.read() if argv[1] == "-" else open(argv[1], encoding="utf-8").read())
        with open(argv[2], "rb") as f:
            public_key = serialization.load_pem_public_key(f.read())
    except (OSError, ValueError) as e:
        print(f"cannot read the arguments: {e}", file=sys.stderr)
        return 2
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
        print("invalid: the key is not a P-256 key", file=sys.stderr)
        return 1
    try:
        hcert = verify(hc1.strip("\n"), public_key, check_kid)
    except Invalid as e:
        print(f"invalid: {e}", file=sys.stderr)
        return 1
    print(json.dumps(hcert, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
