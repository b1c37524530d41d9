"""Schemathesis hooks for the contract run (cli/tests/contract.rs).

Every request carries a root admin's bearer token, obtained with the password grant and obtained
again whenever one stops working (401): the fuzzer revokes sessions, deletes accounts and
disables them. It may do so to every account but the one it authenticates as: a request aimed
at that account or at its role assignments is aimed at an id that names nothing instead, so
that the run cannot lock itself out (the fuzzer learns ids from the listings it reads)."""

import base64
import json
import os
import urllib.request

import schemathesis

BASE = os.environ["IAM_CONTRACT_URL"]
EMAIL = os.environ["IAM_CONTRACT_EMAIL"]
PASSWORD = os.environ["IAM_CONTRACT_PASSWORD"]
# A well-formed id of ours that no item has.
NOBODY = "01900000-0000-7000-8000-000000000000"

# The ids the run must not touch: the admin's account and its role assignments.
PROTECTED: set[str] = set()


def call(method, path, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{BASE}{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def protect(token):
    payload = token.split(".")[1]
    account = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    PROTECTED.add(account)
    held = call("GET", f"/api/v3/iam/role_assignments?filter[account_id]={account}", token)
    PROTECTED.update(a["id"] for a in held["data"])


@schemathesis.auth(retry_on=[401])
class RootAdmin:
    def get(self, case, ctx):
        body = {"grant_type": "password", "email": EMAIL, "password": PASSWORD}
        token = call("POST", "/api/v3/iam/auth/token", body=body)["access_token"]
        protect(token)
        return token

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.path_parameters and case.method.upper() in ("PATCH", "DELETE", "POST"):
        for name, value in case.path_parameters.items():
            if value in PROTECTED:
                case.path_parameters[name] = NOBODY
