//! The contracts of the routes no catalog describes: the token endpoint, revocation, the
//! password and invitation flows, the caller's own account, discovery, health and this
//! document. They are declared here, beside the generator, because the function that serves
//! the document links `shared` only, never another function's crate; the field names are the
//! ones `usecase::sessions`, `usecase::passwords` and `usecase::invitations` read.

use serde_json::{Value, json};

use super::listing;
use super::schema::{jsonapi_content, reference};
use crate::model::{account, password};

/// One catalog-less operation.
#[derive(Debug)]
pub struct Action {
    pub method: &'static str,
    pub path: &'static str,
    /// Its `operationId`.
    pub id: &'static str,
    /// Its errors are OAuth error bodies (RFC 6749 §5.2), not JSON:API documents.
    pub oauth_errors: bool,
    /// The operation object without `operationId`, `security` and the shared error statuses;
    /// `x-errors` lists the statuses of its own.
    pub build: fn() -> Value,
}

const fn action(method: &'static str, path: &'static str, id: &'static str, build: fn() -> Value) -> Action {
    Action { method, path, id, oauth_errors: false, build }
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Every catalog-less operation.
pub const ACTIONS: &[Action] = &[
    action("GET", "/api/v3/iam/accounts/me", "show_accounts_me", me),
    action("GET", "/api/v3/iam/accounts/external/{external_id}", "show_accounts_by_external_id", by_external_id),
    action("PATCH", "/api/v3/iam/accounts/{id}/join", "join_invitation", join),
    action("POST", "/api/v3/iam/accounts/{id}/resend_invitation", "resend_invitation", resend_invitation),
    action("POST", "/api/v3/iam/accounts/me/mfa/totp", "enrol_totp", enrol_totp),
    action("POST", "/api/v3/iam/accounts/me/mfa/totp/confirm", "confirm_totp", confirm_totp),
    action("DELETE", "/api/v3/iam/accounts/me/mfa/totp", "remove_totp", remove_totp),
    action("DELETE", "/api/v3/iam/accounts/{id}/mfa", "reset_mfa", reset_mfa),
    action("POST", "/api/v3/iam/account/passwords/request_reset", "request_password_reset", request_reset),
    action("POST", "/api/v3/iam/account/passwords/reset", "reset_password", reset),
    action("GET", "/api/v3/iam/account/passwords/token_valid", "reset_token_valid", token_valid),
    action("POST", "/api/v3/iam/account/passwords/change", "change_password", change),
    Action { method: "POST", path: "/api/v3/iam/auth/token", id: "token", oauth_errors: true, build: token },
    action("POST", "/api/v3/iam/auth/revoke", "revoke", revoke),
    Action {
        method: "POST",
        path: "/api/v3/iam/auth/introspect",
        id: "introspect",
        oauth_errors: true,
        build: introspect,
    },
    action("GET", "/.well-known/jwks.json", "jwks", jwks),
    action("GET", "/.well-known/openid-configuration", "openid_configuration", discovery),
    action("GET", "/.well-known/oauth-authorization-server", "oauth_authorization_server", discovery),
    action("GET", "/health", "health", health),
    action("GET", "/openapi.json", "openapi", openapi),
];

pub fn of(method: &str, path: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.method == method && a.path == path)
}

pub fn operation(action: &Action) -> Value {
    (action.build)()
}

/// A flat body in `media`. The service takes a JSON object, a form, or a JSON:API document
/// with these as attributes alike; one media type is declared, as generators choke on a body
/// offered in two (openapi-python-client 0.29 emits code that does not import).
fn flat_body(properties: Value, required: &[&str], media: &str) -> Value {
    let schema = json!({"type": "object", "properties": properties, "required": required});
    json!({"required": true, "content": {media: {"schema": schema}},
        "description": "Also accepted as a JSON object, a form (`application/x-www-form-urlencoded`) or a JSON:API \
            document with these fields as `data.attributes`."})
}

fn no_content(description: &str) -> Value {
    json!({"204": {"description": description}})
}

/// A password being set: the policy's lengths, and its other rules in words.
fn new_password(description: &str) -> Value {
    json!({"type": "string", "format": "password", "writeOnly": true,
        "minLength": password::MIN_LENGTH, "maxLength": password::MAX_LENGTH,
        "description": format!("{description} At least one uppercase and one lowercase letter, a digit and a \
            special character; not the account's email.")})
}

/// A password being presented.
fn password(description: &str) -> Value {
    json!({"type": "string", "format": "password", "writeOnly": true, "description": description})
}

fn account_document() -> Value {
    json!({"description": "The account.", "content": jsonapi_content(reference("AccountDocument"))})
}

fn document_options() -> Vec<Value> {
    let mut params = vec![listing::fieldsets(&account::RESOURCE)];
    params.extend(listing::includes(&account::RESOURCE));
    params
}

fn me() -> Value {
    json!({
        "summary": "The caller's own account", "tags": ["accounts"],
        "parameters": document_options(),
        "responses": {"200": account_document()},
        "x-errors": [400],
    })
}

fn by_external_id() -> Value {
    let mut params = vec![json!({"name": "external_id", "in": "path", "required": true, "schema": {"type": "string"}})];
    params.extend(document_options());
    json!({
        "summary": "The account with this external id", "tags": ["accounts"],
        "parameters": params,
        "responses": {"200": account_document()},
        "x-errors": [400, 404],
    })
}

fn join() -> Value {
    json!({
        "summary": "Accept an invitation: set a password (and a name) with the emailed token",
        "tags": ["invitations"],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
            "description": "The invitation token from the email."}],
        "requestBody": flat_body(json!({
            "password": new_password("The new password."),
            "name": {"type": "string", "description": "The person's name, if they give one."},
        }), &["password"], JSON),
        "responses": no_content("Joined: the account is active and can log in."),
        "x-errors": [400, 409, 413, 415, 422],
    })
}

fn resend_invitation() -> Value {
    json!({
        "summary": "Send a pending account a new invitation; earlier links stop working",
        "tags": ["invitations"],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": no_content("Sent."),
        "x-errors": [404, 409, 422],
    })
}

/// Enrolment's two steps take a bearer token, or the `mfa_token` of an enrolment the
/// account's organization requires (`Authorization: MFA <mfa_token>`).
fn enrolment_security() -> Value {
    json!([{"bearer": []}, {"mfa": []}])
}

fn enrol_totp() -> Value {
    let answer = json!({"type": "object", "required": ["secret", "otpauth_uri"], "properties": {
        "secret": {"type": "string", "description": "The shared secret, base32 (RFC 4648), shown this once."},
        "otpauth_uri": {"type": "string", "description": "The same secret as an otpauth:// URI for a QR code."},
    }});
    json!({
        "summary": "Begin a TOTP enrolment (RFC 6238); not enforced until confirmed",
        "description": "With a bearer token, the current password is required; with `Authorization: MFA <mfa_token>` \
            (an enrolment the organization requires) the token proves it. A pending enrolment is replaced; 409 while \
            a second factor is on.",
        "tags": ["mfa"],
        "security": enrolment_security(),
        "requestBody": flat_body(json!({
            "current_password": password("The password now (bearer callers)."),
        }), &[], JSON),
        "responses": {"201": {"description": "The secret.", "content": {"application/json": {"schema": answer}}}},
        "x-errors": [400, 409, 413, 415, 422, 429],
    })
}

fn confirm_totp() -> Value {
    let answer = json!({"type": "object", "required": ["recovery_codes"], "properties": {
        "recovery_codes": {"type": "array", "items": {"type": "string"}, "minItems": 10, "maxItems": 10,
            "description": "Single-use codes, shown this once."},
    }});
    json!({
        "summary": "Confirm a TOTP enrolment with a first code: the second factor is on from now",
        "tags": ["mfa"],
        "security": enrolment_security(),
        "requestBody": flat_body(json!({
            "code": {"type": "string", "pattern": "^[0-9 ]+$", "description": "The authenticator's current code."},
        }), &["code"], JSON),
        "responses": {"200": {"description": "The recovery codes.",
            "content": {"application/json": {"schema": answer}}}},
        "x-errors": [400, 409, 413, 415, 422],
    })
}

fn remove_totp() -> Value {
    json!({
        "summary": "Remove the caller's second factor (current password and a code or a recovery code)",
        "tags": ["mfa"],
        "requestBody": flat_body(json!({
            "current_password": password("The password now."),
            "code": {"type": "string", "description": "The authenticator's current code."},
            "recovery_code": {"type": "string", "writeOnly": true, "description": "Instead of code."},
        }), &["current_password"], JSON),
        "responses": no_content("Removed: logins need the password alone."),
        "x-errors": [400, 409, 413, 415, 422, 429],
    })
}

fn reset_mfa() -> Value {
    json!({
        "summary": "Reset an account's second factor (accounts:write); ends its sessions",
        "tags": ["mfa"],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": no_content("Reset: the account logs in with its password and may enrol again."),
        "x-errors": [404],
    })
}

fn request_reset() -> Value {
    json!({
        "summary": "Email a password reset link (the same answer whether or not the account exists)",
        "tags": ["passwords"],
        "requestBody": flat_body(json!({"email": {"type": "string", "format": "email"}}), &["email"], JSON),
        "responses": no_content("Accepted."),
        "x-errors": [400, 413, 415, 422, 429],
    })
}

fn reset() -> Value {
    json!({
        "summary": "Set a new password with a reset token; ends every session of the account",
        "tags": ["passwords"],
        "requestBody": flat_body(json!({
            "token": {"type": "string", "writeOnly": true},
            "password": new_password("The new password."),
        }), &["token", "password"], JSON),
        "responses": no_content("Changed."),
        "x-errors": [400, 413, 415, 422],
    })
}

fn token_valid() -> Value {
    json!({
        "summary": "Whether a reset token would work now (it is not used up)",
        "tags": ["passwords"],
        "parameters": [{"name": "token", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1}}],
        "responses": {"200": {"description": "The answer.", "content": jsonapi_content(json!({
            "type": "object", "required": ["valid"], "properties": {"valid": {"type": "boolean"}},
        }))}},
        "x-errors": [400],
    })
}

fn change() -> Value {
    json!({
        "summary": "Change the caller's password; ends every other session",
        "tags": ["passwords"],
        "requestBody": flat_body(json!({
            "current_password": password("The password now."),
            "password": new_password("The new password."),
        }), &["current_password", "password"], JSON),
        "responses": no_content("Changed."),
        "x-errors": [400, 413, 415, 422, 429],
    })
}

fn token() -> Value {
    let body = json!({
        "grant_type": {"type": "string", "enum": crate::usecase::sessions::GRANT_TYPES},
        "email": {"type": "string", "description": "password grant"},
        "username": {"type": "string", "description": "password grant: another name for email"},
        "password": password("password grant"),
        "refresh_token": {"type": "string", "writeOnly": true, "description": "refresh_token grant"},
        "mfa_token": {"type": "string", "writeOnly": true, "description": "mfa-otp grant: from the 403 of a right password"},
        "otp": {"type": "string", "writeOnly": true, "description": "mfa-otp grant: the authenticator's current code"},
        "recovery_code": {"type": "string", "writeOnly": true, "description": "mfa-otp grant: instead of otp"},
        "client_id": {"type": "string", "description": "optional; only this service's own client"},
    });
    let second_step = json!({"type": "object", "required": ["error", "mfa_token"], "properties": {
        "error": {"type": "string", "enum": ["mfa_required", "mfa_enrollment_required"]},
        "error_description": {"type": "string"},
        "mfa_token": {"type": "string"},
    }});
    let granted = json!({"type": "object",
    "required": ["access_token", "token_type", "expires_in", "refresh_token", "session_id"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
        "refresh_token": {"type": "string"},
        "session_id": {"type": "string"},
    }});
    json!({
        "summary": "OAuth 2.0 token endpoint: the password and refresh_token grants (RFC 6749), and mfa-otp",
        "description": "A right password of an account with a second factor answers 403 `mfa_required` with an \
            `mfa_token` (5 minutes, single use) and creates no session; the `mfa-otp` grant completes the login. \
            An account whose organization requires a second factor it lacks gets 403 `mfa_enrollment_required`.",
        "tags": ["auth"],
        // Form-encoded, as RFC 6749 §4.3.2 has OAuth clients send it.
        "requestBody": flat_body(body, &["grant_type"], FORM),
        "responses": {
            "200": {"description": "Tokens.", "content": {"application/json": {"schema": granted}}},
            "403": {"description": "A second step is due.", "content": {"application/json": {"schema": second_step}}},
        },
        "x-errors": [400, 401, 413, 415, 429],
    })
}

fn revoke() -> Value {
    let body = json!({
        "token": {"type": "string", "writeOnly": true, "description": "An access or refresh token of ours."},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
    });
    let mut request = flat_body(body, &["token"], FORM);
    request["required"] = json!(false);
    json!({
        "summary": "Revoke: a token's session (RFC 7009, public), or without one the caller's own session",
        "description": "With `token` in the body, the session that token belongs to ends and the answer is an empty \
            200 whether or not the token was valid. Without one, the bearer token's session ends (204).",
        "tags": ["auth"],
        "security": [{}, {"bearer": []}],
        "requestBody": request,
        "responses": {
            "200": {"description": "The token's session has ended, if it had one."},
            "204": {"description": "The caller's session has ended; its access and refresh tokens stop working."},
            "400": {"$ref": "#/components/responses/OAuth400"},
        },
        "x-errors": [400, 401],
    })
}

fn introspect() -> Value {
    let body = json!({
        "token": {"type": "string", "writeOnly": true, "description": "An access or refresh token."},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
    });
    let answer = json!({"type": "object", "required": ["active"], "properties": {
        "active": {"type": "boolean"},
        "sub": {"type": "string"}, "sid": {"type": "string"}, "iss": {"type": "string"}, "aud": {"type": "string"},
        "iat": {"type": "integer"}, "exp": {"type": "integer"}, "client_id": {"type": "string"},
        "token_type": {"type": "string", "enum": ["access_token", "refresh_token"]},
        "organization_id": {"type": ["string", "null"]},
    }});
    json!({
        "summary": "Introspect a token (RFC 7662): needs `tokens:introspect`",
        "description": "The claims of a token that works now (a live session of a usable account), else exactly \
            `{\"active\": false}`.",
        "tags": ["auth"],
        "requestBody": flat_body(body, &["token"], FORM),
        "responses": {"200": {"description": "The answer.", "content": {"application/json": {"schema": answer}}}},
        "x-errors": [400, 413, 415],
    })
}

fn plain_json(description: &str, schema: Value) -> Value {
    json!({"200": {"description": description, "content": {"application/json": {"schema": schema}}}})
}

fn jwks() -> Value {
    let key = json!({"type": "object", "required": ["kty", "kid"], "properties": {
        "kty": {"type": "string"}, "crv": {"type": "string"}, "x": {"type": "string"},
        "kid": {"type": "string"}, "alg": {"type": "string"}, "use": {"type": "string"},
    }});
    json!({
        "summary": "The public keys that verify access tokens (JWKS)", "tags": ["discovery"],
        "responses": plain_json("The key set.", json!({"type": "object", "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": key}}})),
        "x-errors": [],
    })
}

/// Both discovery documents (OpenID Connect's name and RFC 8414's) are one document.
fn discovery() -> Value {
    let list = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "summary": "Discovery (RFC 8414): issuer, JWKS and token endpoint, and what they support",
        "tags": ["discovery"],
        "responses": plain_json("The metadata.", json!({"type": "object",
            "required": ["issuer", "jwks_uri", "token_endpoint", "response_types_supported"],
            "properties": {
                "issuer": {"type": "string"}, "jwks_uri": {"type": "string"},
                "token_endpoint": {"type": "string"},
                "revocation_endpoint": {"type": "string"}, "introspection_endpoint": {"type": "string"},
                "grant_types_supported": list, "token_endpoint_auth_methods_supported": list,
                "revocation_endpoint_auth_methods_supported": list,
                "response_types_supported": list, "scopes_supported": list,
            }})),
        "x-errors": [],
    })
}

fn health() -> Value {
    json!({
        "summary": "Liveness", "tags": ["operations"],
        "responses": plain_json("Up.", json!({"type": "object", "required": ["status"],
            "properties": {"status": {"const": "ok"}}})),
        "x-errors": [],
    })
}

fn openapi() -> Value {
    json!({
        "summary": "This document (OpenAPI 3.1)", "tags": ["operations"],
        "responses": plain_json("The document.", json!({"type": "object", "required": ["openapi", "paths"]})),
        "x-errors": [],
    })
}
