#!/usr/bin/env python3
"""The documents part killed mid-write: `crash.py issue ORIGIN DATA_DIR IDS_FILE` issues
documents from 4 threads until the server dies, appending each acknowledged id to IDS_FILE;
`crash.py check ORIGIN DATA_DIR IDS_FILE` (after a restart) checks that every acknowledged
document is there, whole, and verifies as genuine. Prints TAP lines."""

import base64
import json
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

mode, origin, data_dir, ids_file = sys.argv[1:5]


def token():
    with open(f"{data_dir}/clients/demo-backend.secret") as f:
        secret = f.read().strip()
    request = urllib.request.Request(
        origin + "/oidc/token", method="POST",
        data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(
            f"demo-backend:{secret}".encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["access_token"]


def post(path, body, bearer=None):
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = "Bearer " + bearer
    request = urllib.request.Request(origin + path, data=json.dumps(body).encode(),
                                     method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


claims = {"national_id": "АБ90010112", "family_name": "Батболд", "given_name": "Өлзий",
          "birth_date": "1990-01-01", "address": "Улаанбаатар", "region": "Улаанбаатар",
          "registered_since": "2015-06-01"}

if mode == "issue":
    bearer = token()
    lock = threading.Lock()
    out = open(ids_file, "a")

    def work():
        while True:
            try:
                status, doc = post("/documents/v1/documents",
                                   {"template": "address-reference", "holder": "АБ90010112",
                                    "claims": claims}, bearer)
            except Exception:  # noqa: BLE001 - the server was killed
                return
            if status == 201:
                with lock:
                    out.write(doc["id"] + "\n")
                    out.flush()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.exit(0)

bearer = token()
ids = [line.strip() for line in open(ids_file) if line.strip()]
missing = []
not_genuine = []
for doc_id in ids:
    request = urllib.request.Request(origin + f"/documents/v1/documents/{doc_id}",
                                     headers={"Authorization": "Bearer " + bearer})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            doc = json.loads(response.read())
    except urllib.error.HTTPError:
        missing.append(doc_id)
        continue
    _, v = post("/documents/v1/verify", {"credential": doc["credential"]})
    if v["verdict"] != "genuine":
        not_genuine.append(doc_id)
ok = len(ids) > 0 and not missing and not not_genuine
print(("ok" if ok else "not ok") +
      f" - all {len(ids)} documents acknowledged before the kill are there and genuine"
      + ("" if ok else f" # missing {missing[:5]}, not genuine {not_genuine[:5]}"))
sys.exit(0 if ok else 1)
