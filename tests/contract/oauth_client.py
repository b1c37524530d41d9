"""A standard OAuth 2.0 client library (authlib) against the service, as another team's code
would use it: discovery (RFC 8414), the password grant, a call with the token, a refresh (RFC
6749 §6), introspection (RFC 7662) and revocation (RFC 7009). Run by cli/tests/contract.rs with
the service's URL and a root admin's credentials."""

import sys

import requests
from authlib.integrations.requests_client import OAuth2Session

BASE, EMAIL, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]

meta = requests.get(f"{BASE}/.well-known/oauth-authorization-server", timeout=30).json()
assert meta["grant_types_supported"] == ["password", "refresh_token", "urn:iam:params:oauth:grant-type:mfa-otp"], meta

client = OAuth2Session(client_id="iam", token_endpoint_auth_method="none")
token = client.fetch_token(meta["token_endpoint"], username=EMAIL, password=PASSWORD)
assert token["token_type"] == "Bearer" and token["expires_in"] > 0, token
me = client.get(f"{BASE}/api/v3/iam/accounts/me", timeout=30)
assert me.status_code == 200 and me.json()["data"]["attributes"]["email"] == EMAIL, me.text

first = token["refresh_token"]
token = client.refresh_token(meta["token_endpoint"], refresh_token=first)
assert token["refresh_token"] != first, "the refresh token rotates"
assert client.get(f"{BASE}/api/v3/iam/accounts/me", timeout=30).status_code == 200

# Introspection is for a caller holding tokens:introspect: here a second session of the admin.
inspector = OAuth2Session(client_id="iam", token_endpoint_auth_method="none")
inspector.fetch_token(meta["token_endpoint"], username=EMAIL, password=PASSWORD)
bearer = {"Authorization": f"Bearer {inspector.token['access_token']}"}


def introspect(value, hint):
    answer = inspector.introspect_token(meta["introspection_endpoint"], token=value, token_type_hint=hint, headers=bearer)
    assert answer.status_code == 200, answer.text
    return answer.json()


live = introspect(token["access_token"], "access_token")
assert live["active"] is True and live["token_type"] == "access_token", live
assert introspect(token["refresh_token"], "refresh_token")["active"] is True
assert introspect(first, "refresh_token") == {"active": False}, "a rotated refresh token"

revoked = client.revoke_token(meta["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token")
assert revoked.status_code == 200, revoked.text
assert introspect(token["access_token"], "access_token") == {"active": False}
assert client.get(f"{BASE}/api/v3/iam/accounts/me", timeout=30).status_code == 401
print("authlib: discovery, password grant, refresh, introspection and revocation work")
