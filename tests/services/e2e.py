#!/usr/bin/env python3
"""End-to-end checks of Ulus's services part against a running `ulus up`, the way a citizen, an
officer, a one-stop centre's desk and an integrator would use it: applications through the
platform's API and the GovStack Registration BB routes, with Dan access tokens (an authenticator
app for the officers), Khur pulls seen in the data tracker, documents that verify, attachments,
and the rights of every wrong caller.

    e2e.py ORIGIN DATA_DIR ULUS_BINARY

People come from the server's own population register (DATA_DIR/agencies/GASR.db); accounts,
roles and tokens are made by people.mjs through Dan's pages. Prints TAP lines; exits 1 when any
check fails.
"""

import base64
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

origin, data_dir, ulus = sys.argv[1], sys.argv[2], sys.argv[3]
here = os.path.dirname(os.path.abspath(__file__))
failures = 0
count = 0


def check(ok, what, detail=""):
    global failures, count
    count += 1
    print(("ok" if ok else "not ok") + f" {count} - {what}" + ("" if ok else f" # {detail}"),
          flush=True)
    if not ok:
        failures += 1
    return ok


def short(value, limit=300):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


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
        with urllib.request.urlopen(request, timeout=60) as response:
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


def is_problem(status, headers, body, expected):
    """An RFC 7807 answer with the expected status, a type and the same status inside."""
    return (status == expected
            and headers.get("Content-Type", "").startswith("application/problem+json")
            and isinstance(body, dict) and bool(body.get("type"))
            and body.get("status") == expected)


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def run_ulus(*args):
    """`ulus --data DATA_DIR ARGS`, waiting out a moment when a rebuild replaces the binary."""
    for attempt in range(60):
        try:
            return subprocess.run([ulus, "--log-level", "warn", "--data", data_dir, *args],
                                  capture_output=True, text=True, check=True).stdout
        except OSError:  # missing for a moment while a rebuild replaces it
            if attempt == 59:
                raise
            time.sleep(1)
    return ""


# --- The people, from the server's own population register --------------------------------------

with open(os.path.join(data_dir, "demo-accounts.json")) as f:
    demo = {a["kind"]: a for a in json.load(f)}
register = sqlite3.connect(
    "file:" + os.path.join(data_dir, "agencies", "GASR.db") + "?mode=ro", uri=True)


def current_records(registry, where="", params=()):
    rows = register.execute(
        "SELECT record_id, data FROM record_version WHERE registry = ? AND is_current = 1 "
        "AND deleted = 0" + where + " ORDER BY record_id", (registry, *params))
    return [(rid, json.loads(data)) for rid, data in rows]


def person(national_id):
    found = current_records("person", " AND record_id = ?", (national_id,))
    return found[0][1] if found else {}


demo_ids = {a["national_id"] for a in demo.values()}
adults = [p for _, p in current_records("person")
          if p.get("status") == "alive" and p.get("phone") and p.get("birth_date", "9") < "2000"
          and p["id"] not in demo_ids]
if len(adults) < 3:
    check(False, "the register has three adults with a phone besides the demo accounts")
    sys.exit(1)
citizen_a = person(demo["citizen"]["national_id"])   # the applicant throughout
citizen_b, police_person, desk_person = adults[0], adults[1], adults[2]

spec = {
    "signups": [{"nationalId": p["id"], "phone": p["phone"]}
                for p in (citizen_b, police_person, desk_person)],
    "grants": [{"nationalId": police_person["id"], "agency": "POLICE", "role": "officer"},
               {"nationalId": desk_person["id"], "agency": "GASR", "role": "desk"}],
    "tokens": [
        {"name": "citizen", "nationalId": citizen_a["id"]},
        {"name": "citizen_no_services", "nationalId": citizen_a["id"],
         "scope": "openid documents"},
        {"name": "citizen2", "nationalId": citizen_b["id"]},
        {"name": "police", "nationalId": police_person["id"], "totp": True},
        {"name": "police_low", "nationalId": police_person["id"]},
        {"name": "gasr", "nationalId": demo["officer"]["national_id"], "totp": True},
        {"name": "desk", "nationalId": desk_person["id"], "totp": True},
        {"name": "desk_low", "nationalId": desk_person["id"]},
    ],
}
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(spec, f)
    spec_file = f.name
started = time.monotonic()
prepared = subprocess.run(["node", os.path.join(here, "people.mjs"), origin, data_dir, ulus,
                           spec_file], capture_output=True, text=True, timeout=150)
os.unlink(spec_file)
if not check(prepared.returncode == 0,
             "three people sign up with the code sent to their phone, officers enrol an "
             "authenticator app and everyone gets a Dan access token",
             short(prepared.stderr, 800)):
    sys.exit(1)
people = json.loads(prepared.stdout)
print(f"# accounts and tokens ready in {time.monotonic() - started:.1f} s", flush=True)
tokens = people["tokens"]
citizen, citizen2 = tokens["citizen"], tokens["citizen2"]
police, police_low, gasr = tokens["police"], tokens["police_low"], tokens["gasr"]
check(not any(e["grant"]["role"] != "desk" for e in people["errors"]),
      "`ulus roles grant` makes the police officer", short(people["errors"]))
desk_granted = not any(e["grant"]["role"] == "desk" for e in people["errors"])
check(desk_granted, "`ulus roles grant --role desk` gives a one-stop centre's clerk the desk role",
      short(people["errors"]))
# Without a desk role the filing is tried by the service agency's officer, whom the API also lets.
desk = tokens["desk"] if desk_granted else gasr
police_id = claims_of(police)["sub"]
gasr_id = claims_of(gasr)["sub"]
desk_id = claims_of(desk)["sub"]
check(claims_of(police)["acr"].endswith("/substantial")
      and claims_of(police_low)["acr"].endswith("/low"),
      "the officer's app login is at substantial assurance, the password one at low",
      f"{claims_of(police)['acr']} {claims_of(police_low)['acr']}")


def notices_of(token, application):
    status, _, body = call("GET", "/services/v1/notices?limit=200", token=token)
    if status != 200:
        return None
    return [n for n in reversed(body["notices"]) if n["application"] == application]


def history_of(token, application):
    status, _, body = call("GET", f"/services/v1/applications/{application}/history", token=token)
    return body.get("events", []) if status == 200 else []


def act(token, application, action, **fields):
    return call("POST", f"/services/v1/applications/{application}/actions",
                dict(action=action, **fields), token=token)


def document_claims(document_id, token):
    """The document's credential as its holder gets it, and what the public verifier says."""
    status, _, doc = call("GET", f"/documents/v1/documents/{document_id}", token=token)
    if status != 200 or "credential" not in doc:
        return status, doc, None
    status, _, verdict = call("POST", "/documents/v1/verify", {"credential": doc["credential"]})
    return status, doc, verdict


def usage_with_purpose(token, purpose):
    status, _, body = call("GET", "/data/myPersonalDataUsage?pageSize=100", token=token)
    if status != 200 or not isinstance(body, list):
        return None
    return [u for u in body if u.get("purpose") == purpose]


address_change_form = {"new_region": "Дархан-Уул", "new_locality": "Дархан сум",
                       "new_subunit": "3-р баг", "new_street": "Энхтайвны гудамж",
                       "new_building": "12", "new_apartment": "45"}

# --- The catalogue ------------------------------------------------------------------------------

status, _, found = call("GET", "/services/v1/catalogue?q=" + urllib.parse.quote("address"))
check(status == 200 and any(s["id"] == "address-reference" for s in found.get("services", [])),
      "the public catalogue finds the address reference by a word", f"{status} {short(found)}")
status, _, address_change = call("GET", "/services/v1/catalogue/address-change")
check(status == 200 and address_change.get("workflow") == "review"
      and address_change.get("document") == "address-reference"
      and {f["name"] for f in address_change.get("form", [])} >= {"new_region", "new_building"},
      "a service's page has its form, workflow and document", f"{status} {short(address_change)}")

# --- 3. Bad input ---------------------------------------------------------------------------------

status, headers, body = call("POST", "/services/v1/applications", {"service": "no-such-service"},
                             token=citizen)
check(is_problem(status, headers, body, 404), "an unknown service is 404 problem+json",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/applications",
                             {"service": "address-change",
                              "form": dict(address_change_form, favourite_colour="blue")},
                             token=citizen)
check(is_problem(status, headers, body, 400) and "favourite_colour" in json.dumps(body),
      "a form entry the service does not have is 400 problem+json naming it",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/applications",
                             {"service": "address-change", "form": "new_region=Darkhan"},
                             token=citizen)
check(is_problem(status, headers, body, 400), "a form that is not an object is 400 problem+json",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/applications",
                             {"service": "address-change", "form": {"new_region": "Дархан-Уул"}},
                             token=citizen)
check(is_problem(status, headers, body, 400), "a form without its required entries is 400",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/applications", "[1, 2]", token=citizen)
check(is_problem(status, headers, body, 400), "a body that is not a JSON object is 400",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/applications", {"service": "address-reference"})
check(is_problem(status, headers, body, 401), "no token is 401 problem+json",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/applications", {"service": "address-reference"},
                             token=citizen[:-4] + ("AAAA" if not citizen.endswith("AAAA") else "BBBB"))
check(is_problem(status, headers, body, 401), "a forged token is 401 problem+json",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/applications", {"service": "address-reference"},
                             token=tokens["citizen_no_services"])
check(is_problem(status, headers, body, 403),
      "a token without the services scope is 403 problem+json", f"{status} {short(body)}")
status, headers, body = call("GET", "/services/v1/applications",
                             token=tokens["citizen_no_services"])
check(is_problem(status, headers, body, 403), "... and lists nothing either (403)",
      f"{status} {short(body)}")
status, headers, body = call("GET", "/services/v1/applications/not-a-uuid", token=citizen)
check(is_problem(status, headers, body, 404), "an application id that is no UUID is 404",
      f"{status} {short(body)}")

# --- 1. An automatic service ----------------------------------------------------------------------

status, headers, app1 = call("POST", "/services/v1/applications", {"service": "address-reference"},
                             token=citizen)
check(status == 201 and app1.get("state") == "completed" and app1.get("document")
      and app1.get("applicant") == citizen_a["id"] and app1.get("filedBy") == "citizen",
      "the citizen applies for an address reference: 201 completed with a document",
      f"{status} {short(app1)}")
app1_id = app1.get("id", "")
check(headers.get("Location") == f"/services/v1/applications/{app1_id}",
      "the answer's Location is the application", headers.get("Location"))
check("due" not in app1 and "stateDue" not in app1 and app1.get("late") is False,
      "a finished automatic application has no deadline and is not late", short(app1))
status, _, again = call("GET", f"/services/v1/applications/{app1_id}", token=citizen)
check(status == 200 and again.get("document") == app1.get("document")
      and again.get("links", {}).get("document") == f"/documents/v1/documents/{app1.get('document')}",
      "the application reads back with a link to its document", f"{status} {short(again)}")
status, doc, verdict = document_claims(app1.get("document", "none"), citizen)
disclosed = (verdict or {}).get("disclosed", {})
check(status == 200 and verdict and verdict.get("verdict") == "genuine",
      "the document's credential verifies genuine at /documents/v1/verify",
      f"{status} {short(verdict or doc)}")
households = current_records("household_member", " AND subject = ?", (citizen_a["id"],))
address = dict(current_records("address", " AND record_id = ?",
                               (citizen_a.get("address", ""),))).get(citizen_a.get("address"), {})
expected = {"national_id": citizen_a["id"], "family_name": citizen_a["family_name"],
            "given_name": citizen_a["given_name"], "birth_date": citizen_a["birth_date"],
            "region": address.get("region")}
if households:
    expected["registered_since"] = households[-1][1].get("from")
check(all(disclosed.get(k) == v for k, v in expected.items()) and doc.get("holder") == citizen_a["id"]
      and doc.get("template") == "address-reference" and doc.get("agency") == "GASR",
      "its claims are the citizen's, as the population register holds them",
      f"expected {short(expected)} got {short(disclosed)}")
purpose = f"services:address-reference/{app1_id}"
usage = usage_with_purpose(citizen, purpose)
check(usage is not None and {u.get("databaseId") for u in usage} >= {"person", "address"},
      "the data tracker shows the Khur reads of the person and address registries for "
      f"purpose {purpose}", short(usage))
check(bool(usage) and all(u.get("xRoadId") for u in usage)
      and {s.get("exchange") for s in app1.get("sources", [])} <= {u.get("xRoadId") for u in usage},
      "each read has an exchange id, the same the application keeps as its sources",
      f"{short(app1.get('sources'))} {short(usage)}")
status, _, usage_other = call("GET", "/data/myPersonalDataUsage?pageSize=100", token=citizen2)
check(status == 200 and not any(u.get("purpose") == purpose for u in usage_other),
      "another person's data tracker does not show them", f"{status}")
kinds = [n["kind"] for n in notices_of(citizen, app1_id) or []]
check(kinds == ["submit", "complete"], "the citizen's notices show the submission and completion",
      short(kinds))

status, _, theirs = call("GET", "/services/v1/notices?limit=200", token=citizen2)
check(status == 200 and not any(n["application"] == app1_id for n in theirs["notices"]),
      "another person's notices do not show it", f"{status}")
status, _, unread = call("GET", "/services/v1/notices?unread=true", token=citizen)
newest = max((n["id"] for n in unread.get("notices", [])), default=0)
check(status == 200 and newest > 0 and all(not n["read"] for n in unread["notices"]),
      "unread notices are listed", f"{status} {short(unread)}")
status, _, _ = call("POST", "/services/v1/notices/read", {"upTo": newest}, token=citizen)
_, _, unread = call("GET", "/services/v1/notices?unread=true", token=citizen)
check(status == 204 and unread.get("notices") == [], "marked read, none are unread any more",
      f"{status} {short(unread)}")
status, headers, body = call("POST", "/services/v1/notices/read", {"upTo": "all"}, token=citizen)
check(is_problem(status, headers, body, 400), "upTo that is no number is 400", f"{status}")

# --- 2. Idempotency ---------------------------------------------------------------------------------

key = {"Idempotency-Key": "services-e2e-" + os.urandom(6).hex()}
first = call("POST", "/services/v1/applications", {"service": "personal-reference"},
             token=citizen, extra_headers=key)
retry = call("POST", "/services/v1/applications", {"service": "personal-reference"},
             token=citizen, extra_headers=key)
check(first[0] == 201 and retry[0] in (200, 201) and retry[2].get("id") == first[2].get("id")
      and retry[2].get("document") == first[2].get("document"),
      "a retry with the same Idempotency-Key gets the same application and document",
      f"{first[0]} {retry[0]} {first[2].get('id')} {retry[2].get('id')}")
status, headers, body = call("POST", "/services/v1/applications",
                             {"service": "birth-certificate-copy"}, token=citizen,
                             extra_headers=key)
check(is_problem(status, headers, body, 409), "the same key for another service is 409",
      f"{status} {short(body)}")
status, _, mine = call("GET", "/services/v1/applications?limit=200", token=citizen)
check(status == 200 and
      sum(1 for a in mine["applications"] if a["service"] == "personal-reference") == 1,
      "only one personal reference was made", f"{status}")
other = call("POST", "/services/v1/applications", {"service": "personal-reference"},
             token=citizen2, extra_headers=key)
check(other[0] == 201 and other[2].get("id") != first[2].get("id")
      and other[2].get("applicant") == citizen_b["id"],
      "another person's same key is their own application", f"{other[0]} {short(other[2])}")
race_key = {"Idempotency-Key": "services-e2e-race-" + os.urandom(6).hex()}
raced = []


def apply_once():
    raced.append(call("POST", "/services/v1/applications", {"service": "marital-status-reference"},
                      token=citizen, extra_headers=race_key))


threads = [threading.Thread(target=apply_once) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
raced_ids = {r[2].get("id") for r in raced if isinstance(r[2], dict)}
check(len(raced_ids) == 1 and all(r[0] in (201, 202) for r in raced),
      "six simultaneous requests with one key make one application",
      short([(r[0], r[2].get("id") if isinstance(r[2], dict) else r[2]) for r in raced]))
time.sleep(0.5)
status, _, raced_app = call("GET", f"/services/v1/applications/{raced_ids.pop()}", token=citizen)
status, _, mine = call("GET", "/services/v1/applications?limit=200", token=citizen)
check(raced_app.get("state") in ("completed", "rejected")
      and sum(1 for a in mine["applications"] if a["service"] == "marital-status-reference") == 1,
      "... which finishes once", short(raced_app))
status, headers, body = call("POST", "/services/v1/applications", {"service": "personal-reference"},
                             token=citizen, extra_headers={"Idempotency-Key": "k" * 201})
check(is_problem(status, headers, body, 400), "an Idempotency-Key over 200 characters is 400",
      f"{status} {short(body)}")

# --- 4. The review workflow with the owning agency's officer ---------------------------------------

status, headers, app4 = call("POST", "/services/v1/applications",
                             {"service": "criminal-record-reference"}, token=citizen)
app4_id = app4.get("id", "")
check(status == 202 and app4.get("state") == "submitted" and app4.get("agency") == "POLICE",
      "the citizen applies for a criminal record certificate: 202 submitted, for the police",
      f"{status} {short(app4)}")
check(bool(app4.get("due")) and bool(app4.get("stateDue")) and app4["stateDue"] <= app4["due"]
      and app4.get("late") is False,
      "it has a deadline, a nearer one to be taken up by, and is not late", short(app4))
status, _, inbox = call("GET", "/services/v1/inbox?agency=POLICE", token=police)
items = inbox.get("applications", []) if status == 200 else []
mine4 = [a for a in items if a["id"] == app4_id]
check(status == 200 and len(mine4) == 1 and mine4[0].get("due") == app4.get("due")
      and mine4[0].get("stateDue") == app4.get("stateDue") and "late" in mine4[0],
      "the police officer's inbox shows it with due, stateDue and late",
      f"{status} {short(inbox)}")
check([a.get("stateDue", "") for a in items] == sorted(a.get("stateDue", "") for a in items),
      "the inbox is sorted by the state's deadline", short([a.get("stateDue") for a in items]))
status, _, inbox = call("GET", "/services/v1/inbox?agency=POLICE&state=submitted"
                        "&service=criminal-record-reference", token=police)
check(status == 200 and any(a["id"] == app4_id for a in inbox.get("applications", [])),
      "the inbox filters by state and service", f"{status}")
status, headers, body = call("GET", "/services/v1/inbox?agency=POLICE&state=lost", token=police)
check(is_problem(status, headers, body, 400), "an unknown state filter is 400", f"{status}")
status, _, seen = call("GET", f"/services/v1/applications/{app4_id}", token=police)
check(status == 200 and seen.get("applicant") == citizen_a["id"],
      "the officer opens the application", f"{status} {short(seen)}")

status, headers, body = act(citizen, app4_id, "approve", claims={"has_record": False})
check(is_problem(status, headers, body, 403), "the applicant cannot approve their own (403)",
      f"{status} {short(body)}")
status, headers, body = act(police, app4_id, "approve", claims={"has_record": False})
check(is_problem(status, headers, body, 409), "a submitted application is not approved before "
      "it is taken up (409)", f"{status} {short(body)}")
status, headers, body = act(police, app4_id, "dance")
check(is_problem(status, headers, body, 400), "an unknown action is 400", f"{status}")
status, _, taken = act(police, app4_id, "take", version=app4.get("version"))
check(status == 200 and taken.get("state") == "in_review" and taken.get("assignee") == police_id
      and taken.get("stateDue") == taken.get("due"),
      "the officer takes it up: in review, assigned to them, due by the application's deadline",
      f"{status} {short(taken)}")
status, headers, body = act(police, app4_id, "comment", comment="stale", version=app4.get("version"))
check(is_problem(status, headers, body, 409), "an action on an old version is 409",
      f"{status} {short(body)}")
status, headers, body = act(police, app4_id, "take")
check(is_problem(status, headers, body, 409), "taking it up twice is 409", f"{status}")
status, _, mine_inbox = call("GET", "/services/v1/inbox?agency=POLICE&assignee=me", token=police)
check(status == 200 and [a["id"] for a in mine_inbox["applications"]] == [app4_id],
      "assignee=me lists what the officer took", f"{status} {short(mine_inbox)}")
status, _, noted = act(police, app4_id, "comment", comment="Checking the archive.")
check(status == 200 and noted.get("state") == "in_review", "the officer comments",
      f"{status} {short(noted)}")
status, headers, body = act(police, app4_id, "request_information")
check(is_problem(status, headers, body, 400), "asking for information needs a comment (400)",
      f"{status}")
status, _, asked = act(police, app4_id, "request_information",
                       comment="Have you lived abroad in the last five years?")
check(status == 200 and asked.get("state") == "information_requested"
      and asked.get("stateDue", "") > taken.get("due", "~"),
      "the officer asks for information: the applicant gets ten working days",
      f"{status} {short(asked)}")
status, _, tasks = call("GET", "/tasks", token=citizen)
check(status == 200 and any(t.get("fileId") == app4_id and t.get("roleId") == "applicant"
                            for t in tasks),
      "the citizen's GovStack tasks show the question", f"{status} {short(tasks)}")
status, headers, body = act(police, app4_id, "approve", claims={"has_record": False})
check(is_problem(status, headers, body, 409), "it is not approved while waiting for the citizen",
      f"{status}")
status, headers, body = act(citizen, app4_id, "respond")
check(is_problem(status, headers, body, 400), "an answer needs a comment (400)", f"{status}")
status, _, answered = act(citizen, app4_id, "respond", comment="No, I have lived in Mongolia.")
check(status == 200 and answered.get("state") == "in_review"
      and answered.get("stateDue") == answered.get("due"),
      "the citizen answers: back in review, due by the application's deadline",
      f"{status} {short(answered)}")
status, headers, body = act(citizen, app4_id, "respond", comment="again")
check(is_problem(status, headers, body, 409), "answering when nothing was asked is 409",
      f"{status}")
status, headers, body = act(police, app4_id, "approve", claims={"details": "none"})
check(is_problem(status, headers, body, 400) and "has_record" in json.dumps(body),
      "an approval without the officer's required field is 400 naming it",
      f"{status} {short(body)}")
status, headers, body = act(police, app4_id, "approve", claims={"has_record": "no"})
check(is_problem(status, headers, body, 400), "an officer's field of the wrong type is 400",
      f"{status} {short(body)}")
status, _, app4_now = call("GET", f"/services/v1/applications/{app4_id}", token=citizen)
check(app4_now.get("state") == "in_review" and not app4_now.get("document"),
      "refused approvals change nothing", short(app4_now))
# Only the fields the service leaves to the officer are taken from the approval: the register's
# stay the register's (or the approval is refused).
status, _, approved = act(police, app4_id, "approve",
                          claims={"has_record": False, "details": "No convictions recorded.",
                                  "national_id": "АА00000000", "family_name": "Forged"},
                          comment="No record found.")
if status == 400:
    check(True, "an approval that gives the register's fields is refused (400)")
    status, _, approved = act(police, app4_id, "approve",
                              claims={"has_record": False, "details": "No convictions recorded."},
                              comment="No record found.")
check(status == 200 and approved.get("state") == "completed" and approved.get("document")
      and "stateDue" not in approved and approved.get("late") is False,
      "the officer approves with the officer's fields: completed with a document",
      f"{status} {short(approved)}")
status, doc4, verdict4 = document_claims(approved.get("document", "none"), citizen)
disclosed4 = (verdict4 or {}).get("disclosed", {})
check(verdict4 and verdict4.get("verdict") == "genuine" and doc4.get("agency") == "POLICE"
      and disclosed4.get("has_record") is False
      and disclosed4.get("details") == "No convictions recorded."
      and disclosed4.get("national_id") == citizen_a["id"]
      and disclosed4.get("family_name") == citizen_a["family_name"]
      and re.fullmatch(r"\d{4}-\d{2}-\d{2}", disclosed4.get("checked_on", "")),
      "the certificate verifies genuine with the officer's and the register's fields",
      f"{short(verdict4 or doc4)}")
check(doc4.get("issuedBy") == f"officer:{police_id}", "it names the approving officer as issuer",
      doc4.get("issuedBy"))
events = history_of(citizen, app4_id)
check([e["action"] for e in events]
      == ["submit", "take", "comment", "request_information", "respond", "approve"]
      and [e["to"] for e in events] == ["submitted", "in_review", "in_review",
                                         "information_requested", "in_review", "completed"]
      and [e["from"] for e in events][1:] == [e["to"] for e in events][:-1],
      "the history lists every step with its states", short(events, 600))
check(events and events[1]["actor"] == f"officer:{police_id}"
      and events[4]["actor"].startswith("citizen:")
      and events[3]["comment"] == "Have you lived abroad in the last five years?"
      and all(e.get("at") for e in events),
      "each step has its actor, time and comment", short(events, 600))
status, _, officer_history = call("GET", f"/services/v1/applications/{app4_id}/history",
                                  token=police)
check(status == 200 and officer_history.get("events") == events,
      "the officer reads the same history", f"{status}")
kinds = [n["kind"] for n in notices_of(citizen, app4_id) or []]
check(kinds == ["submit", "take", "comment", "request_information", "respond", "approve"],
      "the citizen's notices got every change", short(kinds))
asked_notice = [n for n in notices_of(citizen, app4_id) or [] if n["kind"] == "request_information"]
check(asked_notice and asked_notice[0]["text"] == "Have you lived abroad in the last five years?"
      and asked_notice[0]["state"] == "information_requested",
      "the notice of the question carries it", short(asked_notice))
usage = usage_with_purpose(citizen, f"services:criminal-record-reference/{app4_id}")
check(bool(usage) and all(u.get("readerId") == police_id for u in usage),
      "the data tracker shows the approval's reads, by the officer", short(usage))
status, headers, body = act(police, app4_id, "reject", comment="changed my mind")
check(is_problem(status, headers, body, 409), "a completed application cannot be rejected (409)",
      f"{status}")

# --- 5. Wrong users ---------------------------------------------------------------------------------

status, _, open4 = call("POST", "/services/v1/applications",
                        {"service": "criminal-record-reference"}, token=citizen)
open4_id = open4.get("id", "")
check(status == 202, "the citizen applies again (202)", f"{status} {short(open4)}")
for label, token, expected in (("another citizen", citizen2, 404),
                               ("an officer of another agency", gasr, 404),
                               ("the owning agency's officer at low assurance", police_low, 404)):
    status, headers, body = call("GET", f"/services/v1/applications/{open4_id}", token=token)
    check(is_problem(status, headers, body, expected), f"{label} cannot see it ({expected})",
          f"{status} {short(body)}")
    status, headers, body = call("GET", f"/services/v1/applications/{open4_id}/history",
                                 token=token)
    check(is_problem(status, headers, body, expected), f"{label} cannot read its history",
          f"{status}")
    for action in ("take", "comment", "approve", "reject", "withdraw"):
        status, headers, body = act(token, open4_id, action, comment="not mine",
                                    claims={"has_record": True})
        check(status in (403, 404) and is_problem(status, headers, body, status),
              f"{label} cannot {action} it (403/404)", f"{status} {short(body)}")
status, _, theirs = call("GET", "/services/v1/applications?limit=200", token=citizen2)
check(status == 200 and not any(a["applicant"] == citizen_a["id"]
                                for a in theirs["applications"]),
      "another citizen's list has none of the first's applications", f"{status}")
status, _, files = call("GET", "/applications", token=citizen2)
check(status == 200 and not any(f["fileId"] in (app1_id, app4_id, open4_id) for f in files),
      "... nor their GovStack list", f"{status}")
status, headers, body = call("GET", "/services/v1/inbox?agency=POLICE", token=gasr)
check(is_problem(status, headers, body, 403), "a GASR officer gets 403 on the police inbox",
      f"{status} {short(body)}")
status, headers, body = call("GET", "/services/v1/inbox?agency=POLICE", token=police_low)
check(is_problem(status, headers, body, 403),
      "a police officer logged in with a password only gets 403 on the inbox",
      f"{status} {short(body)}")
status, headers, body = call("GET", "/services/v1/inbox", token=citizen)
check(is_problem(status, headers, body, 403), "a citizen has no inbox (403)", f"{status}")
status, _, still = call("GET", f"/services/v1/applications/{open4_id}", token=citizen)
check(still.get("state") == "submitted" and still.get("version") == open4.get("version"),
      "none of it changed the application", short(still))
status, _, withdrawn4 = act(citizen, open4_id, "withdraw", comment="I no longer need it.")
check(status == 200 and withdrawn4.get("state") == "withdrawn", "the citizen withdraws it",
      f"{status} {short(withdrawn4)}")
status, headers, body = act(police, open4_id, "take")
check(is_problem(status, headers, body, 409), "a withdrawn application cannot be taken up (409)",
      f"{status}")
status, headers, body = act(police, open4_id, "approve", claims={"has_record": False})
check(is_problem(status, headers, body, 409), "... nor approved (409)", f"{status}")
status, headers, body = act(citizen, open4_id, "withdraw")
check(is_problem(status, headers, body, 409), "... nor withdrawn twice (409)", f"{status}")
status, _, own = call("POST", "/services/v1/applications",
                      {"service": "address-change", "form": address_change_form}, token=gasr)
own_id = own.get("id", "")
check(status == 202 and own.get("applicant") == demo["officer"]["national_id"],
      "a GASR registrar applies to GASR for themselves (202)", f"{status} {short(own)}")
for action in ("take", "approve", "reject"):
    status, headers, body = act(gasr, own_id, action, comment="my own")
    check(is_problem(status, headers, body, 403),
          f"... and cannot {action} their own application (403)", f"{status} {short(body)}")
status, _, own_noted = act(gasr, own_id, "comment", comment="I moved on the 1st.")
check(status == 200, "... but comments on it", f"{status} {short(own_noted)}")
status, _, own_withdrawn = act(gasr, own_id, "withdraw")
check(status == 200 and own_withdrawn.get("state") == "withdrawn",
      "... and withdraws it as its applicant", f"{status} {short(own_withdrawn)}")
own_events = history_of(gasr, own_id)
check([(e["action"], e["actor"]) for e in own_events]
      == [("submit", f"citizen:{gasr_id}"), ("comment", f"citizen:{gasr_id}"),
          ("withdraw", f"citizen:{gasr_id}")],
      "the history records those steps as the applicant's, not as an officer's",
      short([(e["action"], e["actor"]) for e in own_events]))
status, headers, body = call("GET", "/services/v1/applications/" + "0" * 8 + "-0000-7000-8000-"
                             + "0" * 12, token=police)
check(is_problem(status, headers, body, 404), "an application that does not exist is 404",
      f"{status}")

# --- 6. Attachments (and 9: a rejection with its reason) -------------------------------------------

status, _, app5 = call("POST", "/services/v1/applications",
                       {"service": "address-change", "form": address_change_form}, token=citizen)
app5_id = app5.get("id", "")
check(status == 202 and app5.get("agency") == "GASR" and app5.get("form") == address_change_form,
      "the citizen applies for a change of address with its form (202)", f"{status} {short(app5)}")


def pdf_bytes(text):
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               "/Resources << /Font << /F1 5 0 R >> >> >>",
               None,
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    stream = f"BT /F1 18 Tf 72 760 Td ({text}) Tj ET".encode()
    objects[3] = f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, o in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + (o if isinstance(o, bytes) else o.encode()) + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return out


def png_bytes(width=4, height=3):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes([200, 30, 30] * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0,
                                                               0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


pdf = pdf_bytes("Lease agreement, Darkhan 12-45")
png = png_bytes()


def attach(token, application, name, data, media_type):
    return call("POST", f"/services/v1/applications/{application}/attachments?name="
                + urllib.parse.quote(name), data, token=token, content_type=media_type)


status, _, pdf_meta = attach(citizen, app5_id, "lease.pdf", pdf, "application/pdf")
check(status == 201 and pdf_meta.get("mediaType") == "application/pdf"
      and pdf_meta.get("size") == len(pdf) and pdf_meta.get("name") == "lease.pdf",
      "the applicant attaches a PDF (201)", f"{status} {short(pdf_meta)}")
status, _, png_meta = attach(citizen, app5_id, "../../etc/plan.png", png, "image/png")
check(status == 201 and png_meta.get("mediaType") == "image/png"
      and png_meta.get("name") == "plan.png",
      "... and a PNG, its name stripped of any path", f"{status} {short(png_meta)}")
status, headers, body = attach(citizen, app5_id, "notes.pdf", b"just some text, not a PDF\n",
                               "application/pdf")
check(is_problem(status, headers, body, 415), "a text file claiming to be a PDF is 415",
      f"{status} {short(body)}")
status, headers, body = attach(citizen, app5_id, "plan.pdf", png, "application/pdf")
check(is_problem(status, headers, body, 415), "a PNG sent as a PDF is 415", f"{status}")
status, headers, body = attach(citizen, app5_id, "empty.pdf", b"", "application/pdf")
check(is_problem(status, headers, body, 400), "an empty file is 400", f"{status} {short(body)}")
try:
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 1)
    status, headers, body = attach(citizen, app5_id, "big.pdf", big, "application/pdf")
    check(status == 413, "a file over the limit is 413", f"{status} {short(body)}")
except (urllib.error.URLError, ConnectionError) as e:
    check(False, "a file over the limit is 413", f"connection failed: {e!r}")
status, headers, body = attach(citizen2, app5_id, "mine.pdf", pdf, "application/pdf")
check(is_problem(status, headers, body, 404), "another citizen cannot attach to it (404)",
      f"{status}")
status, _, listed = call("GET", f"/services/v1/applications/{app5_id}/attachments", token=citizen)
ids = [a["id"] for a in listed.get("attachments", [])]
check(status == 200 and ids == [pdf_meta.get("id"), png_meta.get("id")]
      and all(a["uploadedBy"].startswith("citizen:") for a in listed["attachments"]),
      "the applicant lists the two files", f"{status} {short(listed)}")
for meta, data, media_type in ((pdf_meta, pdf, "application/pdf"), (png_meta, png, "image/png")):
    status, headers, body = call("GET", f"/services/v1/applications/{app5_id}/attachments/"
                                 f"{meta.get('id')}", token=citizen, raw=True)
    check(status == 200 and body == data
          and headers.get("Content-Disposition", "").startswith("attachment")
          and headers.get("Content-Type", "").startswith(media_type),
          f"the {meta.get('name')} downloads byte for byte as an attachment ({media_type})",
          f"{status} {headers.get('Content-Disposition')} {headers.get('Content-Type')} "
          f"{len(body) if isinstance(body, bytes) else short(body)}")
status, headers, body = call("GET", f"/services/v1/applications/{app5_id}/attachments/"
                             f"{pdf_meta.get('id')}", token=gasr, raw=True)
check(status == 200 and body == pdf, "an officer of the agency downloads it too", f"{status}")
status, _, officer_png = attach(gasr, app5_id, "site-visit.png", png, "image/png")
check(status == 201, "an officer of the agency attaches a file too", f"{status} {short(officer_png)}")
status, _, listed = call("GET", f"/services/v1/applications/{app5_id}/attachments", token=citizen)
check([a["uploadedBy"] for a in listed.get("attachments", [])][-1:] == [f"officer:{gasr_id}"],
      "the applicant sees the officer's file and who uploaded it", short(listed))
status, headers, body = call("GET", f"/services/v1/applications/{app5_id}/attachments/"
                             f"{pdf_meta.get('id')}", token=citizen2)
check(is_problem(status, headers, body, 404), "another citizen cannot download it (404)",
      f"{status} {short(body)}")
status, headers, body = call("GET", f"/services/v1/applications/{app5_id}/attachments",
                             token=citizen2)
check(is_problem(status, headers, body, 404), "... nor list the files (404)", f"{status}")
status, headers, body = call("GET", f"/services/v1/applications/{app5_id}/attachments/"
                             f"{pdf_meta.get('id')}", token=police)
check(is_problem(status, headers, body, 404), "... nor can a police officer (404)", f"{status}")
status, headers, body = call("GET", f"/services/v1/applications/{app1_id}/attachments/"
                             f"{pdf_meta.get('id')}", token=citizen)
check(is_problem(status, headers, body, 404),
      "an attachment is not found through another application", f"{status}")

# 9. Rejected with a reason.
status, headers, body = call("GET", "/services/v1/inbox?agency=GASR", token=police)
check(is_problem(status, headers, body, 403), "a police officer gets 403 on GASR's inbox",
      f"{status}")
status, _, taken5 = act(gasr, app5_id, "take")
check(status == 200 and taken5.get("assignee") == gasr_id, "a GASR registrar takes it up",
      f"{status} {short(taken5)}")
status, headers, body = act(gasr, app5_id, "reject")
check(is_problem(status, headers, body, 400), "a rejection needs a reason (400)", f"{status}")
reason = "The lease is not signed by the owner of the apartment."
status, _, rejected = act(gasr, app5_id, "reject", comment=reason)
check(status == 200 and rejected.get("state") == "rejected" and rejected.get("reason") == reason,
      "the registrar rejects it with a reason", f"{status} {short(rejected)}")
status, _, seen5 = call("GET", f"/services/v1/applications/{app5_id}", token=citizen)
check(seen5.get("state") == "rejected" and seen5.get("reason") == reason
      and not seen5.get("document") and "stateDue" not in seen5,
      "the citizen sees the rejection and its reason", short(seen5))
rejection = [n for n in notices_of(citizen, app5_id) or [] if n["kind"] == "reject"]
check(rejection and rejection[0]["text"] == reason and rejection[0]["state"] == "rejected",
      "a notice tells the citizen why", short(rejection))
kinds = [n["kind"] for n in notices_of(citizen, app5_id) or []]
check(kinds == ["submit", "attach", "attach", "attach", "take", "reject"],
      "the notices of the change of address are every change", short(kinds))
status, headers, body = act(gasr, app5_id, "approve")
check(is_problem(status, headers, body, 409), "a rejected application cannot be approved (409)",
      f"{status}")
status, headers, body = act(citizen, app5_id, "respond", comment="but it is signed")
check(is_problem(status, headers, body, 409), "... nor answered (409)", f"{status}")
status, headers, body = attach(citizen, app5_id, "signed.pdf", pdf, "application/pdf")
check(is_problem(status, headers, body, 409), "... nor given more files (409)", f"{status}")

status, _, app6 = call("POST", "/services/v1/applications",
                       {"service": "address-change", "form": address_change_form}, token=citizen)
status, _, withdrawn = act(citizen, app6.get("id", ""), "withdraw", comment="Staying after all.")
check(status == 200 and withdrawn.get("state") == "withdrawn" and "stateDue" not in withdrawn,
      "the applicant withdraws another change of address", f"{status} {short(withdrawn)}")
status, headers, body = act(gasr, app6.get("id", ""), "approve")
check(is_problem(status, headers, body, 409), "a withdrawn application cannot be approved (409)",
      f"{status}")
status, _, inbox = call("GET", "/services/v1/inbox?agency=GASR", token=gasr)
check(status == 200 and not any(a["id"] in (app5_id, app6.get("id")) for a in
                                inbox["applications"]),
      "rejected and withdrawn applications leave the inbox", f"{status}")
status, _, inbox = call("GET", "/services/v1/inbox?agency=GASR&state=withdrawn", token=gasr)
check(status == 200 and any(a["id"] == app6.get("id") for a in inbox["applications"]),
      "... and are found by their state", f"{status}")

# --- 7. The one-stop centre -------------------------------------------------------------------------

phone = citizen_a.get("phone", "")


def desk_codes():
    """The filing codes sent to the citizen's phone, newest first (`ulus messages` reads the
    outbox in the platform's database while the server runs)."""
    try:
        text = run_ulus("messages", "--to", phone, "--limit", "100")
    except subprocess.CalledProcessError as e:
        print(f"# ulus messages failed: {e.stderr.strip()}", flush=True)
        return []
    return re.findall(r"give the officer this code: (\d{6})", text)


def new_desk_code(before):
    """The code of the message that arrived after `before` codes had."""
    for _ in range(50):
        codes = desk_codes()
        if len(codes) > before:
            return codes[0]
        time.sleep(0.1)
    return None


status, headers, body = call("POST", "/services/v1/desk/filings",
                             {"nationalId": citizen_a["id"], "service": "address-reference"},
                             token=citizen2)
check(is_problem(status, headers, body, 403), "a citizen cannot open a desk filing (403)",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/desk/filings",
                             {"nationalId": citizen_a["id"], "service": "address-reference"},
                             token=tokens["desk_low"] if desk_granted else police_low)
check(is_problem(status, headers, body, 403),
      "the desk's clerk logged in with a password only cannot open one (403)" if desk_granted
      else "an officer of another agency logged in with a password only cannot open one (403)",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/desk/filings",
                             {"nationalId": citizen_a["id"], "service": "criminal-record-reference"},
                             token=gasr)
check(is_problem(status, headers, body, 403),
      "a registrar without the desk role cannot file another agency's service (403)",
      f"{status} {short(body)}")
no_phone = next((p for _, p in current_records("person")
                 if p.get("status") == "alive" and not p.get("phone")), None)
if no_phone:
    status, headers, body = call("POST", "/services/v1/desk/filings",
                                 {"nationalId": no_phone["id"], "service": "address-reference"},
                                 token=desk)
    check(is_problem(status, headers, body, 409),
          "a person without a phone in the register cannot confirm a filing (409)",
          f"{status} {short(body)}")
codes_before = len(desk_codes())
status, _, filing = call("POST", "/services/v1/desk/filings",
                         {"nationalId": citizen_a["id"], "service": "address-reference"},
                         token=desk)
filing_id = filing.get("id", "")
check(status == 201 and filing_id and filing.get("sentTo", "").endswith(phone[-4:])
      and phone[:-4] not in filing.get("sentTo", "") and filing.get("expires"),
      "the desk opens a filing: a code goes to the citizen's register phone, shown masked",
      f"{status} {short(filing)}")
code = new_desk_code(codes_before)
check(code is not None, "the code is in the citizen's text messages", phone)
code = code or "000000"
wrong = f"{(int(code) + 1) % 1000000:06d}"
status, headers, body = call("POST", f"/services/v1/desk/filings/{filing_id}/confirm",
                             {"service": "address-reference", "code": wrong}, token=desk)
check(is_problem(status, headers, body, 403), "a wrong code is 403", f"{status} {short(body)}")
status, headers, body = call("POST", f"/services/v1/desk/filings/{filing_id}/confirm",
                             {"service": "address-reference", "code": code}, token=gasr
                             if desk_granted else police)
check(status in (403, 404), "another officer cannot use the desk's filing (403/404)",
      f"{status} {short(body)}")
status, headers, body = call("POST", f"/services/v1/desk/filings/{filing_id}/confirm",
                             {"service": "personal-reference", "code": code}, token=desk)
check(is_problem(status, headers, body, 400),
      "the code confirms only the service the citizen was told of (400)", f"{status} {short(body)}")
status, _, filed = call("POST", f"/services/v1/desk/filings/{filing_id}/confirm",
                        {"service": "address-reference", "code": code}, token=desk)
filed_id = filed.get("id", "")
check(status == 201 and filed.get("state") == "completed" and filed.get("document")
      and filed.get("applicant") == citizen_a["id"],
      "the right code files it as the citizen's: completed with a document",
      f"{status} {short(filed)}")
check(filed.get("filedBy") == f"desk:{desk_id}" and filed.get("confirmation") == f"otp:{filing_id}",
      "the application records who filed it and the citizen's confirmation",
      f"{filed.get('filedBy')} {filed.get('confirmation')}")
status, headers, body = call("POST", f"/services/v1/desk/filings/{filing_id}/confirm",
                             {"service": "address-reference", "code": code}, token=desk)
check(is_problem(status, headers, body, 409), "the code cannot be used again (409)",
      f"{status} {short(body)}")
status, _, mine = call("GET", "/services/v1/applications?limit=200", token=citizen)
listed = [a for a in mine.get("applications", []) if a["id"] == filed_id]
check(status == 200 and listed and listed[0]["filedBy"] == f"desk:{desk_id}",
      "the citizen sees it among their applications", f"{status}")
check([a["created"] for a in mine.get("applications", [])]
      == sorted((a["created"] for a in mine.get("applications", [])), reverse=True),
      "their applications are newest first", "")
status, _, seen = call("GET", f"/services/v1/applications/{filed_id}", token=desk)
# The clerk is answered once, at filing; the file is then the citizen's and the agency's.
check(status == 404 if desk_granted else status == 200,
      "a desk clerk does not keep the citizen's file after filing it", f"{status}")
if desk_granted:
    status, headers, body = call("GET", f"/services/v1/applications/{app1_id}", token=desk)
    check(is_problem(status, headers, body, 404),
          "... but not the citizen's other applications (404)", f"{status}")
    status, headers, body = call("GET", "/services/v1/inbox?agency=GASR", token=desk)
    check(is_problem(status, headers, body, 403), "the desk role has no agency inbox (403)",
          f"{status}")
events = history_of(citizen, filed_id)
check(events and events[0]["action"] == "submit" and events[0]["actor"] == f"desk:{desk_id}",
      "the history names the desk as the one who submitted it", short(events))
usage = usage_with_purpose(citizen, f"services:address-reference/{filed_id}")
check(bool(usage), "the data tracker shows the filing's reads", short(usage))
kinds = [n["kind"] for n in notices_of(citizen, filed_id) or []]
check(kinds == ["submit", "complete"], "the citizen got notices of it", short(kinds))
status, doc7, verdict7 = document_claims(filed.get("document", "none"), citizen)
check(verdict7 and verdict7.get("verdict") == "genuine"
      and verdict7.get("disclosed", {}).get("national_id") == citizen_a["id"],
      "its document is the citizen's and genuine", short(verdict7 or doc7))

codes_before = len(desk_codes())
status, _, filing2 = call("POST", "/services/v1/desk/filings",
                          {"nationalId": citizen_a["id"], "service": "address-reference"},
                          token=desk)
filing2_id = filing2.get("id", "")
code2 = new_desk_code(codes_before) or "000000"
wrong2 = f"{(int(code2) + 1) % 1000000:06d}"
answers = [call("POST", f"/services/v1/desk/filings/{filing2_id}/confirm",
                {"service": "address-reference", "code": wrong2}, token=desk)[0]
           for _ in range(5)]
status, headers, body = call("POST", f"/services/v1/desk/filings/{filing2_id}/confirm",
                             {"service": "address-reference", "code": code2}, token=desk)
check(answers == [403] * 5 and is_problem(status, headers, body, 429),
      "after five wrong codes even the right one is 429", f"{answers} {status} {short(body)}")
status, headers, body = call("POST", "/services/v1/desk/filings",
                             {"nationalId": desk_person["id"] if desk_granted
                              else demo["officer"]["national_id"],
                              "service": "address-reference"}, token=desk)
check(is_problem(status, headers, body, 400), "the desk cannot file for themselves (400)",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/v1/desk/filings",
                             {"nationalId": citizen_a["id"], "service": "no-such-service"},
                             token=desk)
check(is_problem(status, headers, body, 404), "a desk filing of an unknown service is 404",
      f"{status}")

# --- 8. GovStack Registration BB ----------------------------------------------------------------------

uuid = address_change.get("serviceId", "")
# The service's e-form, as GovStack publishes it: a list, then the form with its JSON Schema.
status, _, eforms = call("GET", f"/services/{uuid}/eForms")
eform_id = eforms[0].get("eFormId", "") if status == 200 and eforms else ""
check(status == 200 and len(eforms) == 1 and eform_id and eforms[0].get("latest") is True,
      "GET /services/{serviceId}/eForms lists the service's e-form", f"{status} {short(eforms)}")
status, _, eform = call("GET", f"/eForms/{eform_id}")
schema = eform.get("schema", {}) if status == 200 else {}
check(status == 200 and schema.get("type") == "object"
      and set(schema.get("properties", {})) == {f["name"] for f in address_change.get("form", [])}
      and set(schema.get("required", [])) == {f["name"] for f in address_change.get("form", [])
                                              if f.get("required")},
      "GET /eForms/{eFormId} gives the form as JSON Schema", f"{status} {short(eform)}")
status, headers, body = call("GET", "/eForms/00000000-0000-0000-0000-000000000000")
check(is_problem(status, headers, body, 404), "an unknown e-form is 404", f"{status}")
status, _, file8 = call("POST", f"/services/{uuid}/applications",
                        {"applicantId": citizen_a["id"],
                         "formData": {"data": address_change_form}}, token=citizen)
file_id = file8.get("fileId", "") if isinstance(file8, dict) else ""
check(status in (200, 201) and file_id and file8.get("status", {}).get("code") == "PENDING"
      and file8.get("serviceId") == uuid and file8.get("ended") is False
      and file8.get("applicationData", {}).get("formData", {}).get("data") == address_change_form,
      "the citizen applies through POST /services/{serviceId}/applications: a pending file",
      f"{status} {short(file8)}")
status, headers, body = call("POST", f"/services/{uuid}/applications",
                             {"applicantId": citizen_b["id"],
                              "formData": {"data": address_change_form}}, token=citizen)
check(is_problem(status, headers, body, 403), "applying for somebody else's ID is 403",
      f"{status} {short(body)}")
status, headers, body = call("POST", "/services/00000000-0000-0000-0000-000000000000/applications",
                             {"applicantId": citizen_a["id"]}, token=citizen)
check(is_problem(status, headers, body, 404), "an unknown service UUID is 404", f"{status}")
status, _, files = call("GET", "/applications", token=citizen)
check(status == 200 and any(f["fileId"] == file_id for f in files),
      "GET /applications lists the file", f"{status} {short(files)}")
status, _, files = call("GET", f"/applications?serviceId={uuid}", token=citizen)
check(status == 200 and files and all(f["serviceId"] == uuid for f in files),
      "... filtered by service", f"{status}")
status, _, one = call("GET", f"/applications/{file_id}", token=citizen)
check(status == 200 and one.get("fileId") == file_id and one["status"]["code"] == "PENDING"
      and one.get("applicationData", {}).get("applicantId") == citizen_a["id"],
      "GET /applications/{fileId} is the file", f"{status} {short(one)}")
status, headers, body = call("GET", f"/applications/{file_id}", token=citizen2)
check(is_problem(status, headers, body, 404), "another citizen cannot read it (404)", f"{status}")
status, _, operator_files = call("GET", "/applications", token=gasr)
check(status == 200 and any(f["fileId"] == file_id for f in operator_files),
      "the registrar's GET /applications lists it", f"{status}")
status, _, tasks = call("GET", "/tasks", token=gasr)
task = next((t for t in tasks if t.get("fileId") == file_id), {}) if status == 200 else {}
check(task.get("name") == "take-up" and task.get("taskId", "").startswith(f"{file_id}.")
      and task.get("roleId") == "officer",
      "the registrar's GET /tasks has its take-up task", f"{status} {short(tasks)}")
status, _, tasks_of_file = call("GET", f"/tasks?fileId={file_id}", token=gasr)
check(status == 200 and [t["taskId"] for t in tasks_of_file] == [task.get("taskId")],
      "... and finds it by fileId", f"{status} {short(tasks_of_file)}")
status, _, police_tasks = call("GET", "/tasks", token=police)
check(status == 200 and not any(t.get("fileId") == file_id for t in police_tasks),
      "a police officer has no task of it", f"{status}")
status, _, detail = call("GET", f"/tasks/{task.get('taskId')}", token=gasr)
check(status == 200 and detail.get("applicationData", {}).get("formData", {}).get("data")
      == address_change_form, "GET /tasks/{taskId} shows the form data", f"{status} {short(detail)}")
status, headers, body = call("GET", f"/tasks/{file_id}.99", token=gasr)
check(is_problem(status, headers, body, 404), "a task of another version is 404", f"{status}")
status, _, done = call("POST", f"/tasks/{task.get('taskId')}/complete", {"data": {}}, token=gasr)
check(status == 200 and done.get("status", {}).get("code") == "PENDING"
      and done.get("variables", {}).get("state", {}).get("data", {}).get("state") == "in_review",
      "completing the take-up task takes the file up", f"{status} {short(done)}")
status, headers, body = call("POST", f"/tasks/{task.get('taskId')}/complete", {"data": {}},
                             token=gasr)
check(status in (404, 409) and is_problem(status, headers, body, status),
      "a task already done cannot be completed again (404/409)", f"{status} {short(body)}")
# The operator corrects the form data (PUT /applications/{fileId}); the form's rules still hold.
corrected = dict(address_change_form, new_apartment="46")
status, _, put = call("PUT", f"/applications/{file_id}",
                      {"applicantId": citizen_a["id"], "formData": {"data": {"new_apartment": "46"}}},
                      token=gasr)
check(status == 200 and put.get("applicationData", {}).get("formData", {}).get("data") == corrected,
      "the registrar corrects the form data with PUT /applications/{fileId}",
      f"{status} {short(put)}")
status, headers, body = call("PUT", f"/applications/{file_id}",
                             {"applicantId": citizen_a["id"], "formData": {"data": {"pet": "cat"}}},
                             token=gasr)
check(is_problem(status, headers, body, 400), "... but not with an entry the form does not have",
      f"{status} {short(body)}")
status, headers, body = call("PUT", f"/applications/{file_id}",
                             {"applicantId": citizen_a["id"],
                              "formData": {"data": {"new_apartment": "1"}}}, token=citizen)
check(status == 403 and is_problem(status, headers, body, 403),
      "the applicant cannot use the operator's correction", f"{status}")
check(any(e["action"] == "amend" and e["actor"].startswith("officer:")
          for e in history_of(citizen, file_id)),
      "the correction is in the history the citizen sees")
address_change_form = corrected
status, _, tasks_of_file = call("GET", f"/tasks?fileId={file_id}", token=gasr)
decide = tasks_of_file[0] if status == 200 and tasks_of_file else {}
check(decide.get("name") == "decide" and decide.get("assigneeId") == gasr_id,
      "the next task is the decision, assigned to the registrar", f"{status} {short(tasks_of_file)}")
status, headers, body = call("POST", f"/tasks/{decide.get('taskId')}/complete",
                             {"data": {"action": "approve"}}, token=citizen2)
check(status in (403, 404), "another citizen cannot complete it", f"{status}")
status, _, done = call("POST", f"/tasks/{decide.get('taskId')}/complete",
                       {"data": {"action": "approve", "comment": "Lease checked."}}, token=gasr)
check(status == 200 and done.get("status", {}).get("code") == "APPROVED",
      "completing the decision task approves it", f"{status} {short(done)}")
status, _, one = call("GET", f"/applications/{file_id}", token=citizen)
check(one.get("status", {}).get("code") == "APPROVED" and one.get("ended") is True,
      "the citizen's file is approved and ended", short(one))
status, _, app8 = call("GET", f"/services/v1/applications/{file_id}", token=citizen)
status, doc8, verdict8 = document_claims(app8.get("document", "none"), citizen)
disclosed8 = (verdict8 or {}).get("disclosed", {})
check(verdict8 and verdict8.get("verdict") == "genuine"
      and disclosed8.get("region") == "Дархан-Уул"
      and disclosed8.get("address") == "Дархан сум, 3-р баг, Энхтайвны гудамж 12, 46",
      "the new address reference is genuine and has the address from the form",
      short(verdict8 or doc8))
status, _, tasks = call("GET", "/tasks", token=gasr)
check(status == 200 and not any(t.get("fileId") == file_id for t in tasks),
      "a finished file has no task any more", f"{status}")

# --- 10. Consent: a service that reads the health registry ------------------------------------------


def my_application_ids(token):
    """Every application id of the caller (the list pages by 200)."""
    ids_seen, offset = [], 0
    while True:
        status, _, page = call("GET", f"/services/v1/applications?limit=200&offset={offset}",
                               token=token)
        if status != 200:
            return None
        batch = [a["id"] for a in page.get("applications", [])]
        ids_seen += batch
        if len(batch) < 200:
            return ids_seen
        offset += 200


def grew_by(before, token):
    after = my_application_ids(token)
    return None if after is None or before is None else len(after) - len(before)


before = my_application_ids(citizen)
status, headers, body = call("POST", "/services/v1/applications", {"service": "medical-record"},
                             token=citizen)
detail = body.get("detail", "") if isinstance(body, dict) else ""
agreement = re.search(r"data agreement ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                      r"[0-9a-f]{12})", detail)
check(is_problem(status, headers, body, 409) and agreement is not None
      and "purpose services:medical-record" in detail,
      "a medical record without a consent token is 409 naming the data agreement and purpose",
      f"{status} {short(body)}")
agreement_id = agreement.group(1) if agreement else "none"
check(grew_by(before, citizen) == 0, "... and nothing is stored",
      f"the list grew by {grew_by(before, citizen)}")
status, _, shown = call("GET", f"/service/data-agreement/{agreement_id}/", token=citizen)
check(status == 200 and shown.get("dataAgreement", {}).get("purpose") == "services:medical-record",
      "the citizen reads the data agreement they are asked to consent to",
      f"{status} {short(shown)}")
status, _, granted = call("POST", f"/service/individual/record/data-agreement/{agreement_id}/", {},
                          token=citizen)
consent_record = granted.get("consentRecord", {}) if isinstance(granted, dict) else {}
consent_token = granted.get("consentToken", "") if isinstance(granted, dict) else ""
check(status in (200, 201) and consent_record.get("id") and consent_record.get("optIn") is True
      and consent_record.get("state") == "given"
      and consent_record.get("individualId") == citizen_a["id"]
      and consent_record.get("dataAgreementId") == agreement_id and consent_token.count(".") == 2,
      "the citizen gives consent in Dan: a consent record and a consent token",
      f"{status} {short(granted)}")
consent_claims = claims_of(consent_token) if consent_token.count(".") == 2 else {}
check(consent_claims.get("sub") == citizen_a["id"]
      and consent_claims.get("purpose") == "services:medical-record"
      and consent_claims.get("jti") == consent_record.get("id"),
      "the token names the person, the purpose and the record", short(consent_claims))
consent_record_id = consent_record.get("id", "none")

before = my_application_ids(citizen)
status, _, med = call("POST", "/services/v1/applications",
                      {"service": "medical-record", "consentToken": consent_token}, token=citizen)
med_id = med.get("id", "") if isinstance(med, dict) else ""
check(status == 201 and med.get("state") == "completed" and med.get("document")
      and med.get("agency") == "HDC" and med.get("applicant") == citizen_a["id"],
      "with the consent token the medical record is 201 completed with a document",
      f"{status} {short(med)}")
check("consentToken" not in json.dumps(med) and consent_token not in json.dumps(med),
      "the answer does not echo the consent token", short(med))
check(grew_by(before, citizen) == 1, "... one application more in the citizen's list",
      f"grew by {grew_by(before, citizen)}")
health_db = sqlite3.connect(
    "file:" + os.path.join(data_dir, "agencies", "HDC.db") + "?mode=ro", uri=True)
health_row = health_db.execute(
    "SELECT data FROM record_version WHERE registry = 'health' AND subject = ? "
    "AND is_current = 1 AND deleted = 0", (citizen_a["id"],)).fetchone()
health = json.loads(health_row[0]) if health_row else {}
status, doc_med, verdict_med = document_claims(med.get("document", "none"), citizen)
disclosed_med = (verdict_med or {}).get("disclosed", {})
check(verdict_med and verdict_med.get("verdict") == "genuine" and doc_med.get("agency") == "HDC"
      and disclosed_med.get("national_id") == citizen_a["id"]
      and disclosed_med.get("blood_type") == health.get("blood_type")
      and disclosed_med.get("clinic") == health.get("clinic"),
      "the medical record verifies genuine with the health register's blood type and clinic",
      f"health {short(health)} got {short(verdict_med or doc_med)}")
usage = usage_with_purpose(citizen, f"services:medical-record/{med_id}")
check(usage is not None and {u.get("databaseId") for u in usage} >= {"person", "health"},
      f"the data tracker shows the health read for purpose services:medical-record/{med_id}",
      short(usage))

# The first citizen's token presented for another person's application.
before_b = my_application_ids(citizen2)
status, _, stolen = call("POST", "/services/v1/applications",
                         {"service": "medical-record", "consentToken": consent_token},
                         token=citizen2)
stolen_id = stolen.get("id", "") if isinstance(stolen, dict) else ""
check(status == 201 and stolen.get("state") == "rejected" and not stolen.get("document")
      and "consent" in stolen.get("reason", ""),
      "another citizen presenting the first's consent token: 201 rejected, the reason names "
      "the consent, no document", f"{status} {short(stolen)}")
if stolen_id and stolen.get("state") == "submitted":
    time.sleep(1)  # in case it is finished a moment later
    _, _, stolen_now = call("GET", f"/services/v1/applications/{stolen_id}", token=citizen2)
    print(f"# the other citizen's application a second later: {short(stolen_now)}", flush=True)
status, _, usage_a = call("GET", "/data/myPersonalDataUsage?pageSize=100", token=citizen)
check(status == 200 and stolen_id
      and not any(stolen_id in u.get("purpose", "") for u in usage_a),
      "nothing of the first citizen is read for the other's application (their tracker has no "
      "record of it)", f"{status} {short([u for u in usage_a if stolen_id in u.get('purpose', '')])}")
status, headers, body = call("GET", f"/services/v1/applications/{stolen_id or 'none'}",
                             token=citizen)
check(is_problem(status, headers, body, 404), "the first citizen cannot see the other's "
      "application (404)", f"{status}")
check(grew_by(before_b, citizen2) == 1, "the other citizen's application is theirs alone",
      f"grew by {grew_by(before_b, citizen2)}")
status, headers, body = call("PUT", f"/service/individual/record/consent-record/"
                             f"{consent_record_id}/", {"optIn": False}, token=citizen2)
check(is_problem(status, headers, body, 404), "another citizen cannot withdraw the consent (404)",
      f"{status} {short(body)}")

# Withdrawn.
status, _, withdrawn_consent = call("PUT", f"/service/individual/record/consent-record/"
                                    f"{consent_record_id}/", {"optIn": False}, token=citizen)
record_now = withdrawn_consent.get("consentRecord", {}) if isinstance(withdrawn_consent, dict) \
    else {}
check(status == 200 and record_now.get("state") == "withdrawn" and record_now.get("optIn") is False
      and record_now.get("withdrawnAt"),
      "the citizen withdraws the consent", f"{status} {short(withdrawn_consent)}")
status, _, late = call("POST", "/services/v1/applications",
                       {"service": "medical-record", "consentToken": consent_token},
                       token=citizen)
late_id = late.get("id", "") if isinstance(late, dict) else ""
check(status == 201 and late.get("state") == "rejected" and not late.get("document")
      and late.get("reason"),
      "applying again with the withdrawn consent's token: 201 rejected with a reason",
      f"{status} {short(late)}")
usage_late = usage_with_purpose(citizen, f"services:medical-record/{late_id}")
check(late_id and usage_late is not None
      and not any(u.get("databaseId") == "health" for u in usage_late),
      "... and the health registry was not read for it", short(usage_late))

before = my_application_ids(citizen)
status, headers, body = call("POST", "/services/v1/applications",
                             {"service": "medical-record", "consentToken": "x" * (4 * 1024 + 1)},
                             token=citizen)
check(is_problem(status, headers, body, 400), "a consentToken over 4 KiB is 400",
      f"{status} {short(body)}")
# A token that would break out of its header line (request smuggling into Khur) is refused.
smuggled = ("x\r\n\r\nGET /r1/MN/GOV/GASR/civil-registry/person/1.0 HTTP/1.1\r\n"
            "X-Road-Client: MN/GOV/MDDIC/platform\r\n")
status, headers, body = call("POST", "/services/v1/applications",
                             {"service": "medical-record", "consentToken": smuggled}, token=citizen)
check(is_problem(status, headers, body, 400), "a consentToken with line breaks is 400",
      f"{status} {short(body)}")
check(grew_by(before, citizen) == 0, "... and nothing is stored",
      f"grew by {grew_by(before, citizen)}")

print(f"1..{count}")
print(f"# {failures} of {count} checks failed" if failures else f"# all {count} checks passed")
sys.exit(1 if failures else 0)
