"""A client generated from the OpenAPI document (openapi-python-client) used as a program would:
sign in, create an organization and an account in it, read them back, page through a listing,
and meet a 422 and a 404 as typed errors. Run by cli/tests/contract.rs with the generated
package's folder and the service's URL: any response the generated code cannot parse into its
models fails here."""

import sys

sys.path.insert(0, sys.argv[1])
BASE, EMAIL, PASSWORD = sys.argv[2], sys.argv[3], sys.argv[4]

from iam_client import AuthenticatedClient, Client  # noqa: E402
from iam_client.api.accounts import create_accounts, list_accounts, show_accounts, show_accounts_me  # noqa: E402
from iam_client.api.auth import token  # noqa: E402
from iam_client.api.organizations import create_organizations, list_organizations, show_organizations  # noqa: E402
from iam_client.models import (  # noqa: E402
    AccountCollection,
    AccountCreate,
    AccountCreateData,
    AccountCreateDataAttributes,
    AccountDocument,
    Errors,
    OrganizationCollection,
    OrganizationCreate,
    OrganizationCreateData,
    OrganizationCreateDataAttributes,
    OrganizationDocument,
    TokenBody,
    TokenBodyGrantType,
    TokenResponse200,
)


def expect(value, kind, what):
    assert isinstance(value, kind), f"{what}: expected {kind.__name__}, got {value!r}"
    return value


granted = token.sync(
    client=Client(base_url=BASE),
    body=TokenBody(grant_type=TokenBodyGrantType.PASSWORD, email=EMAIL, password=PASSWORD),
)
granted = expect(granted, TokenResponse200, "sign in")
client = AuthenticatedClient(base_url=BASE, token=granted.access_token)

me = expect(show_accounts_me.sync(client=client), AccountDocument, "me")
assert me.data.attributes.email == EMAIL, me

org = create_organizations.sync(
    client=client,
    body=OrganizationCreate(data=OrganizationCreateData(type_="organizations", attributes=OrganizationCreateDataAttributes(name="Generated Co"))),
)
org = expect(org, OrganizationDocument, "create an organization")
shown = expect(show_organizations.sync(id=org.data.id, client=client), OrganizationDocument, "show it")
assert shown.data.attributes.name == "Generated Co", shown

for n in range(3):
    attributes = AccountCreateDataAttributes(email=f"gen{n}@generated.test", organization_id=org.data.id, name=f"Gen {n}")
    created = create_accounts.sync(client=client, body=AccountCreate(data=AccountCreateData(type_="accounts", attributes=attributes)))
    expect(created, AccountDocument, f"create account {n}")

page = list_accounts.sync(client=client, sort="-email", pagesize=2, count=True, query="gen")
page = expect(page, AccountCollection, "list accounts")
assert [a.attributes.email for a in page.data] == ["gen2@generated.test", "gen1@generated.test"], page
assert page.meta.count == 3, page.meta

orgs = expect(list_organizations.sync(client=client, pagenumber=1, pagesize=10), OrganizationCollection, "list orgs")
assert any(o.id == org.data.id for o in orgs.data), orgs

bad = create_accounts.sync(
    client=client,
    body=AccountCreate(data=AccountCreateData(type_="accounts", attributes=AccountCreateDataAttributes(email="not an email"))),
)
bad = expect(bad, Errors, "an invalid email")
assert bad.errors[0].code == "invalid_email", bad

missing = expect(show_accounts.sync(id="01900000-0000-7000-8000-000000000000", client=client), Errors, "a missing account")
assert missing.errors[0].status == "404", missing
print("the generated client works")
