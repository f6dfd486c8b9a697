#!/usr/bin/env python3
"""End-to-end checks of Ulus's documents part against a running server, the way a bank, a border
guard and an agency's developer would check it: independent libraries (jwcrypto for the W3C
credential, cbor2 + cryptography via dcc_check.py for the EU DCC, poppler + zbar for the PDF's QR
code), the public verification API and page, revocation, and the rights of the wrong caller.

    e2e.py ORIGIN DATA_DIR ULUS_BINARY

Prints TAP lines; exits 1 when any check fails.
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from jwcrypto import jwk, jws

origin, data_dir, ulus = sys.argv[1], sys.argv[2], sys.argv[3]
here = os.path.dirname(os.path.abspath(__file__))
failures = 0
count = 0


def check(ok, what, detail=""):
    global failures, count
    count += 1
    print(("ok" if ok else "not ok") + f" {count} - {what}" + ("" if ok else f" # {detail}"))
    if not ok:
        failures += 1


def call(method, path, body=None, token=None, content_type="application/json", raw=False,
         extra_headers=None):
    data = None
    headers = dict(extra_headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(origin + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            return response.status, response.headers, payload if raw else _json(payload)
    except urllib.error.HTTPError as e:
        payload = e.read()
        return e.code, e.headers, _json(payload)


def _json(payload):
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")


def client_token(client_id):
    with open(os.path.join(data_dir, "clients", client_id + ".secret")) as f:
        secret = f.read().strip()
    body = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    request = urllib.request.Request(origin + "/oidc/token", data=body, method="POST")
    import base64
    request.add_header("Authorization", "Basic " + base64.b64encode(
        f"{client_id}:{secret}".encode()).decode())
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


holder = "АБ90010112"
address_claims = {
    "national_id": holder, "family_name": "Батболд", "given_name": "Өлзий-Орших",
    "birth_date": "1990-01-01", "address": "Улаанбаатар, Сүхбаатар дүүрэг, 1-р хороо",
    "region": "Улаанбаатар", "registered_since": "2015-06-01"}
vaccination_claims = {
    "national_id": holder, "family_name": "Батболд", "given_name": "Өлзий",
    "birth_date": "1990-01-01", "vaccine": "COVID-19", "disease": "840539006",
    "vaccine_type": "1119349007", "product": "EU/1/20/1528", "manufacturer": "ORG-100030215",
    "dose": 2, "total_doses": 2, "date": "2021-09-01"}

gasr = client_token("demo-backend")
gosi = client_token("gosi-backend")
health = client_token("health-backend")

# Issuing: only the template's agency; bad claims and no token get problem+json.
status, headers, doc = call("POST", "/documents/v1/documents",
                            {"template": "address-reference", "holder": holder,
                             "claims": address_claims,
                             "sources": [{"registry": "address", "record": "AD-1", "version": 1}]},
                            token=gasr)
check(status == 201 and doc.get("credential"), "GASR's back-end issues an address reference",
      f"{status} {doc}")
issue_body = {"template": "address-reference", "holder": holder, "claims": address_claims}
key = {"Idempotency-Key": "e2e-" + os.urandom(6).hex()}
first = call("POST", "/documents/v1/documents", issue_body, token=gasr, extra_headers=key)
again = call("POST", "/documents/v1/documents", issue_body, token=gasr, extra_headers=key)
check(first[0] == 201 and again[0] == 200 and again[2].get("id") == first[2].get("id"),
      "a retry with the same Idempotency-Key gets the same document (201, then 200)",
      f"{first[0]} {again[0]}")
status, _, body = call("POST", "/documents/v1/documents",
                       dict(issue_body, claims=dict(address_claims, region="Дархан")),
                       token=gasr, extra_headers=key)
check(status == 409, "the same key for another request is 409", f"{status} {body}")
status, headers, body = call("POST", "/documents/v1/documents",
                             {"template": "address-reference", "holder": holder,
                              "claims": address_claims}, token=gosi)
check(status == 403 and headers.get("Content-Type", "").startswith("application/problem+json"),
      "another agency may not issue it (403 problem+json)", f"{status} {body}")
bad = dict(address_claims, birth_date="1990-02-30")
status, headers, body = call("POST", "/documents/v1/documents",
                             {"template": "address-reference", "holder": holder, "claims": bad},
                             token=gasr)
check(status == 400 and "birth_date" in json.dumps(body, ensure_ascii=False),
      "an impossible date is refused, naming the field", f"{status} {body}")
status, _, body = call("POST", "/documents/v1/documents",
                       {"template": "address-reference", "holder": holder,
                        "claims": address_claims})
check(status == 401, "issuing without a token is 401", f"{status}")

# The credential checks out with an independent JOSE library against the agency's JWKS.
credential = doc["credential"]
status, _, jwks = call("GET", "/dan/keys/agencies/GASR/jwks")
keyset = jwk.JWKSet.from_json(json.dumps(jwks))
token = jws.JWS()
token.deserialize(credential)
header = json.loads(token.objects["protected"])
try:
    token.verify(keyset.get_key(header["kid"]), alg="ES256")
    payload = json.loads(token.payload)
    check(payload["vc"]["credentialSubject"]["given_name"] == "Өлзий-Орших"
          and payload["vc"]["type"] == ["VerifiableCredential", "UlusAddressReference"]
          and payload["jti"] == "urn:uuid:" + doc["id"],
          "jwcrypto verifies the W3C credential with GASR's published key")
except Exception as e:  # noqa: BLE001
    check(False, "jwcrypto verifies the W3C credential with GASR's published key", repr(e))

# The PDF: the texts, and a QR code a scanner reads back as the credential.
status, headers, pdf = call("GET", f"/documents/v1/documents/{doc['id']}/pdf", token=gasr, raw=True)
check(status == 200 and pdf.startswith(b"%PDF-"), "the PDF downloads", f"{status}")
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "doc.pdf")
    with open(path, "wb") as f:
        f.write(pdf)
    text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True).stdout
    check("Оршин суугаа хаягийн тодорхойлолт" in text and "Өлзий-Орших" in text,
          "the PDF's text is the Mongolian title and the holder's name")
    subprocess.run(["pdftoppm", "-r", "200", "-png", path, os.path.join(tmp, "page")], check=True)
    pages = sorted(p for p in os.listdir(tmp) if p.startswith("page"))
    scanned = subprocess.run(["zbarimg", "--raw", "-q", os.path.join(tmp, pages[0])],
                             capture_output=True, text=True).stdout.strip().splitlines()
    check(credential in scanned, "zbarimg reads the credential from the PDF's QR code",
          f"{[s[:40] for s in scanned]}")

# The locator route gives the credential only to whoever holds the digest its QR code carries.
import hashlib
import base64 as b64
digest = b64.urlsafe_b64encode(hashlib.sha256(credential.encode()).digest()).decode().rstrip("=")
status, _, body = call("GET", f"/documents/v1/credentials/{doc['id']}", raw=True)
check(status == 404, "a document id alone does not fetch the credential", f"{status}")
status, _, body = call("GET", f"/documents/v1/credentials/{doc['id']}?sha256={digest}", raw=True)
check(status == 200 and body.decode() == credential, "with the digest it does", f"{status}")

# Public verification: genuine, and every kind of change caught.
status, _, v = call("POST", "/documents/v1/verify", {"credential": credential})
check(status == 200 and v["verdict"] == "genuine" and v["disclosed"]["given_name"] == "Өлзий-Орших",
      "the verification API says genuine without a login", f"{v}")
middle = len(credential) // 2
changed = credential[:middle] + ("A" if credential[middle] != "A" else "B") + credential[middle + 1:]
status, _, v = call("POST", "/documents/v1/verify", changed, content_type="text/plain")
check(v.get("verdict") == "forged", "one changed character is forged", f"{v}")
status, _, page = call("POST", "/verify?lang=en",
                       urllib.parse.urlencode({"code": credential}),
                       content_type="application/x-www-form-urlencoded", raw=True)
check(status == 200 and b"Genuine" in page and "Өлзий-Орших".encode() in page,
      "the verification page shows genuine and the fields", f"{status}")

# Selective disclosure: only what the holder chose. A client token is not the holder.
status, _, body = call("POST", f"/documents/v1/documents/{doc['id']}/disclosures",
                       {"fields": ["given_name"], "predicates": ["age_over_18"]}, token=gasr)
check(status == 403, "an agency's client cannot make the holder's disclosures", f"{status}")

# The EU DCC: an independent COSE verifier accepts it given the key from the trust list.
status, _, vac = call("POST", "/documents/v1/documents",
                      {"template": "vaccination-certificate", "holder": holder,
                       "claims": vaccination_claims}, token=health)
check(status == 201 and vac.get("hc1", "").startswith("HC1:"), "HDC issues a vaccination "
      "certificate with an EU DCC", f"{status} {vac}")
status, _, hjwks = call("GET", "/dan/keys/agencies/HDC/jwks")
key = jwk.JWK(**hjwks["keys"][0])
with tempfile.TemporaryDirectory() as tmp:
    with open(os.path.join(tmp, "code"), "w") as f:
        f.write(vac["hc1"])
    with open(os.path.join(tmp, "key.pem"), "wb") as f:
        f.write(key.export_to_pem())
    run = subprocess.run(["/usr/bin/python3", os.path.join(here, "dcc_check.py"),
                          os.path.join(tmp, "code"), os.path.join(tmp, "key.pem")],
                         capture_output=True, text=True)
    check(run.returncode == 0 and json.loads(run.stdout)["nam"]["fnt"] == "BATBOLD",
          "dcc_check.py (cbor2, cryptography) verifies the HC1 code", run.stderr)
status, _, v = call("POST", "/documents/v1/verify", vac["hc1"], content_type="text/plain")
check(v.get("verdict") == "genuine" and v.get("format") == "dcc", "the API verifies the HC1 code",
      f"{v}")

# Offline: ulus verify with the cached, pinned lists.
status, _, anchor = call("GET", "/documents/v1/trust-anchor")
with tempfile.TemporaryDirectory() as cache:
    fetch = subprocess.run([ulus, "verify", "--cache", cache, "--fetch", origin, "--anchor",
                            "wrong-thumbprint"], capture_output=True, text=True)
    check(fetch.returncode == 1 and "not the pinned one" in fetch.stderr,
          "ulus verify refuses a trust anchor other than the pinned one", fetch.stderr)
    fetch = subprocess.run([ulus, "verify", "--cache", cache, "--fetch", origin, "--anchor",
                            anchor["thumbprint"]], capture_output=True, text=True)
    check(fetch.returncode == 0, "ulus verify fetches the lists", fetch.stderr)
    offline = subprocess.run([ulus, "verify", "--cache", cache, credential],
                             capture_output=True, text=True)
    check(offline.returncode == 0 and offline.stdout.startswith("genuine"),
          "ulus verify says genuine offline", offline.stdout + offline.stderr)
    offline = subprocess.run([ulus, "verify", "--cache", cache, changed],
                             capture_output=True, text=True)
    check(offline.returncode == 2 and offline.stdout.startswith("forged"),
          "ulus verify says forged for a changed character (exit 2)", offline.stdout)

    # Revocation: another agency cannot, the issuer can; verifiers see it.
    status, _, _ = call("POST", f"/documents/v1/documents/{doc['id']}/revoke",
                        {"reason": "moved house"}, token=gosi)
    check(status == 404, "another agency cannot revoke it (and learns nothing of it)", f"{status}")
    status, _, _ = call("POST", f"/documents/v1/documents/{doc['id']}/revoke",
                        {"reason": "moved house"}, token=gasr)
    check(status == 204, "GASR revokes it with a reason", f"{status}")
    status, _, v = call("POST", "/documents/v1/verify", {"credential": credential})
    check(v.get("verdict") == "revoked" and "moved house" in v.get("reason", ""),
          "the verification API says revoked at once, with the reason", f"{v}")
    status, _, s = call("GET", f"/documents/v1/status/{doc['id']}")
    check(s.get("status") == "revoked", "the credential's status URL says revoked", f"{s}")
    # The revocation list is rebuilt at most every 30 s: a verifier refreshing each minute sees it.
    import time
    deadline = time.time() + 40
    code = None
    while time.time() < deadline:
        subprocess.run([ulus, "verify", "--cache", cache, "--fetch", origin],
                       capture_output=True, text=True)
        offline = subprocess.run([ulus, "verify", "--cache", cache, credential],
                                 capture_output=True, text=True)
        code = offline.returncode
        if code == 3:
            break
        time.sleep(2)
    check(code == 3, "ulus verify says revoked (exit 3) within a minute, offline", f"exit {code}")

# Verifications are counted for the document's holder only; a client token holds no documents.
status, _, body = call("GET", "/documents/v1/mine", token=gasr)
check(status == 403, "a client token has no 'my documents'", f"{status}")
status, _, body = call("GET", f"/documents/v1/documents/{doc['id']}", token=gosi)
check(status == 404, "another agency cannot read the document", f"{status}")

print(f"1..{count}")
sys.exit(1 if failures else 0)
