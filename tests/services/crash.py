#!/usr/bin/env python3
"""The services part killed mid-write.

    crash.py submit ORIGIN DATA_DIR ULUS_BINARY STATE_DIR
        gets the demo citizen a Dan access token (people.mjs), notes the applications they
        already have, then applies for address references from 4 threads, each request with
        its own Idempotency-Key, until the server dies (or 30 s pass). Every key is written to
        STATE_DIR/sent before it is sent and every acknowledged answer (key, id, state,
        document) to STATE_DIR/acked.
    crash.py check ORIGIN DATA_DIR ULUS_BINARY STATE_DIR
        after `ulus up` restarted on the same data: every acknowledged application is there as
        it was acknowledged, completed ones with a genuine document; a retry of every request
        whose answer was lost gets one application per key; every application of the run
        completes; no key has two applications and no two completed applications share a
        document.

Prints TAP lines (without a plan: run.sh's other scripts number their own); exits 1 when any
check fails.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

mode, origin, data_dir, ulus, state_dir = sys.argv[1:6]
here = os.path.dirname(os.path.abspath(__file__))
service = "address-reference"
failures = 0


def check(ok, what, detail=""):
    global failures
    print(("ok" if ok else "not ok") + f" - {what}" + ("" if ok else f" # {detail}"), flush=True)
    if not ok:
        failures += 1
    return ok


def short(value, limit=400):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


def call(method, path, body=None, token=None, key=None, timeout=30):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(origin + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as e:
        payload = e.read()
        status = e.code
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode(errors="replace")


def citizen_token():
    """A Dan access token of the demo citizen, made through Dan's pages by people.mjs."""
    with open(os.path.join(data_dir, "demo-accounts.json")) as f:
        citizen = next(a for a in json.load(f) if a["kind"] == "citizen")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"tokens": [{"name": "citizen", "nationalId": citizen["national_id"],
                               "scope": "openid services documents"}]}, f)
        spec = f.name
    try:
        made = subprocess.run(["node", os.path.join(here, "people.mjs"), origin, data_dir, ulus,
                               spec], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(spec)
    if made.returncode != 0:
        raise RuntimeError("people.mjs: " + made.stderr.strip()[-500:])
    return json.loads(made.stdout)["tokens"]["citizen"], citizen["national_id"]


def all_applications(token):
    """Every application of the caller, newest first (the list pages by 200)."""
    out, offset = [], 0
    while True:
        status, page = call("GET", f"/services/v1/applications?limit=200&offset={offset}",
                            token=token)
        if status != 200:
            raise RuntimeError(f"GET /services/v1/applications: {status} {short(page)}")
        batch = page.get("applications", [])
        out += batch
        if len(batch) < 200:
            return out
        offset += 200


def path(name):
    return os.path.join(state_dir, name)


# --- submit -------------------------------------------------------------------------------------

if mode == "submit":
    os.makedirs(state_dir, exist_ok=True)
    token, national_id = citizen_token()
    with open(path("token"), "w") as f:
        f.write(token)
    with open(path("before"), "w") as f:
        json.dump([a["id"] for a in all_applications(token)], f)
    run = os.urandom(4).hex()
    lock = threading.Lock()
    sent = open(path("sent"), "a")
    acked = open(path("acked"), "a")
    refused = []
    deadline = time.monotonic() + 30

    def work(thread):
        n = 0
        while time.monotonic() < deadline:
            key = f"crash-{run}-{thread}-{n}"
            n += 1
            with lock:
                sent.write(key + "\n")
                sent.flush()
            try:
                status, body = call("POST", "/services/v1/applications", {"service": service},
                                    token=token, key=key, timeout=10)
            except Exception:  # noqa: BLE001 - the server was killed
                return
            if status in (201, 202) and isinstance(body, dict):
                with lock:
                    acked.write(json.dumps({"key": key, "id": body.get("id"),
                                            "state": body.get("state"),
                                            "document": body.get("document")}) + "\n")
                    acked.flush()
            else:
                with lock:
                    refused.append((key, status, short(body, 200)))

    # Up and running before run.sh starts its 2 s clock: say so on stdout.
    print("# submitting", flush=True)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(path("refused"), "w") as f:
        json.dump(refused, f)
    sys.exit(0)

# --- check --------------------------------------------------------------------------------------

token = open(path("token")).read().strip()
before = set(json.load(open(path("before"))))
sent_keys = list(dict.fromkeys(line.strip() for line in open(path("sent")) if line.strip()))
acked = [json.loads(line) for line in open(path("acked")) if line.strip()]
refused = json.load(open(path("refused"))) if os.path.exists(path("refused")) else []
print(f"# {len(sent_keys)} requests sent, {len(acked)} acknowledged before the kill", flush=True)
check(len(acked) > 0, "applications were acknowledged before the kill", f"{len(acked)}")
check(not refused, "no request was refused before the kill", short(refused))

status, body = call("GET", "/services/v1/applications?limit=1", token=token)
if not check(status == 200, "the citizen's access token from before the kill is still valid",
             f"{status} {short(body)}"):
    token, _ = citizen_token()

# Every acknowledged application, as it was acknowledged.
acked_by_key = {}
for a in acked:
    acked_by_key[a["key"]] = a
wrong, not_genuine, verified = [], [], 0
for a in acked:
    status, now = call("GET", f"/services/v1/applications/{a['id']}", token=token)
    if status != 200:
        wrong.append((a["id"], status, short(now, 150)))
        continue
    same = (now.get("state") == a["state"] and now.get("document") == a["document"]) or (
        a["state"] == "submitted" and now.get("state") in ("submitted", "completed", "rejected"))
    if not same:
        wrong.append((a["id"], a["state"], a["document"], now.get("state"), now.get("document")))
        continue
    if now.get("state") == "completed":
        status, doc = call("GET", f"/documents/v1/documents/{now.get('document')}", token=token)
        verdict = call("POST", "/documents/v1/verify", {"credential": doc.get("credential")})[1] \
            if status == 200 and isinstance(doc, dict) else {}
        if not isinstance(verdict, dict) or verdict.get("verdict") != "genuine":
            not_genuine.append((a["id"], now.get("document"), status, short(verdict, 150)))
        else:
            verified += 1
check(not wrong, f"all {len(acked)} applications acknowledged before the kill are there with "
      "the same state and document", short(wrong))
check(not not_genuine, f"the documents of the completed ones verify genuine ({verified})",
      short(not_genuine))
check(all(a["state"] in ("completed", "submitted") for a in acked),
      "they were acknowledged completed (or submitted, to be finished)",
      short([a for a in acked if a["state"] not in ("completed", "submitted")]))

# The requests whose answer was lost, retried with their keys (twice each).
lost = [k for k in sent_keys if k not in acked_by_key]
print(f"# retrying the {len(lost)} requests whose answer was lost", flush=True)
retried, retry_wrong = {}, []
for key in lost:
    answers = [call("POST", "/services/v1/applications", {"service": service}, token=token,
                    key=key) for _ in range(2)]
    ids = {body.get("id") if isinstance(body, dict) else None for _, body in answers}
    if any(status not in (201, 202) for status, _ in answers) or len(ids) != 1 or None in ids:
        retry_wrong.append((key, [(s, short(b, 150)) for s, b in answers]))
    else:
        retried[key] = ids.pop()
killed = open(path("killed")).read().strip() if os.path.exists(path("killed")) else ""
if killed and retried:
    stored = 0
    for key, app_id in retried.items():
        status, body = call("GET", f"/services/v1/applications/{app_id}", token=token)
        stored += status == 200 and isinstance(body, dict) and body.get("created", "~") < killed
    print(f"# {stored} of them had been stored before the kill (killed at {killed})", flush=True)
check(not retry_wrong, f"a retry of each of the {len(lost)} lost requests with its "
      "Idempotency-Key gets one application, the same twice", short(retry_wrong))
# A retry of an acknowledged one is the acknowledged application.
again_wrong = []
for a in acked[:20]:
    status, body = call("POST", "/services/v1/applications", {"service": service}, token=token,
                        key=a["key"])
    if status not in (200, 201, 202) or not isinstance(body, dict) or body.get("id") != a["id"]:
        again_wrong.append((a["key"], a["id"], status, short(body, 150)))
check(not again_wrong, "a retry of an acknowledged request is the acknowledged application",
      short(again_wrong))
by_key = {k: a["id"] for k, a in acked_by_key.items()}
by_key.update(retried)
check(len(set(by_key.values())) == len(by_key),
      "no two keys share an application", f"{len(by_key)} keys, {len(set(by_key.values()))} ids")

# Every application of the run finishes: `ulus up` finishes the ones left submitted when it
# starts and then every minute.
ours = set(by_key.values())
deadline = time.monotonic() + 75
while True:
    mine = all_applications(token)
    new = [a for a in mine if a["id"] not in before]
    open_ones = [a for a in new if a["state"] != "completed"]
    if not open_ones or time.monotonic() > deadline:
        break
    time.sleep(2)
if not check(not open_ones, f"within 75 s every one of the {len(new)} applications made since the "
             "kill started is completed",
             short([(a["id"], a["state"], a.get("reason")) for a in open_ones])):
    check(all(a["state"] in ("submitted", "completed", "rejected") for a in new),
          "... and none is in a state an automatic service cannot be in",
          short([(a["id"], a["state"]) for a in new
                 if a["state"] not in ("submitted", "completed", "rejected")]))
    stuck = [k for k, i in by_key.items() if i in {a["id"] for a in open_ones}][:5]
    again = [(k, call("POST", "/services/v1/applications", {"service": service}, token=token,
                      key=k)) for k in stuck]
    check(all(isinstance(b, dict) and b.get("id") == by_key[k] for k, (_, b) in again),
          "... and a resubmission under the same key returns the existing one",
          short([(k, s, short(b, 100)) for k, (s, b) in again]))

new_ids = [a["id"] for a in new]
check(len(new_ids) == len(set(new_ids)), "the list shows each application once",
      f"{len(new_ids)} rows, {len(set(new_ids))} ids")
check(set(new_ids) == ours and len(new_ids) == len(sent_keys),
      f"the citizen has exactly one new application per key sent ({len(sent_keys)})",
      f"{len(new_ids)} new applications for {len(sent_keys)} keys; not from a key: "
      f"{short(sorted(set(new_ids) - ours)[:5])}, missing: {short(sorted(ours - set(new_ids))[:5])}")
completed = [a for a in mine if a["state"] == "completed"]
documents = {a.get("document") for a in completed if a.get("document")}
check(len(completed) == len(documents),
      "as many distinct documents as completed applications among all the citizen's",
      f"{len(completed)} completed, {len(documents)} distinct documents")
sys.exit(1 if failures else 0)
