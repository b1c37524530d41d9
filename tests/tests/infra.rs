//! `infra/template.yaml` declares exactly the routes of the route table and exactly the tables
//! and indexes of the store schema, so that infrastructure and code cannot drift apart.

use std::collections::BTreeSet;

use iam_shared::routes::ROUTES;
use iam_shared::store::schema::TABLES;
use serde_norway::Value;

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `organizations` → `OrganizationsFunction`; `role_assignments` → `RoleAssignmentsTable`.
fn logical_id(name: &str, suffix: &str) -> String {
    let camel: String = name
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect();
    format!("{camel}{suffix}")
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence().map(|s| s.iter().map(str_of).collect()).unwrap_or_default()
}

#[test]
fn the_template_routes_equal_the_route_table() {
    let t = template();
    let mut declared = BTreeSet::new();
    for (id, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let p = &event["Properties"];
            if p["Path"] == "$default" {
                continue;
            }
            declared.insert((str_of(&p["Method"]), str_of(&p["Path"]), str_of(id)));
        }
    }
    let expected: BTreeSet<_> =
        ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string(), logical_id(r.function, "Function"))).collect();
    assert_eq!(declared, expected);
}

/// A tagged node (`!Ref X`, `!If [...]`) as its tag and content.
fn tagged(v: &Value) -> (String, &Value) {
    match v {
        Value::Tagged(t) => (t.tag.to_string(), &t.value),
        other => (String::new(), other),
    }
}

#[test]
fn what_no_route_takes_goes_to_the_function_the_route_table_names() {
    let t = template();
    let mut defaults = vec![];
    for (id, resource) in t["Resources"].as_mapping().unwrap() {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for event in events.values().filter(|e| e["Type"] == "HttpApi" && e["Properties"]["Path"] == "$default") {
            defaults.push((str_of(id), str_of(&event["Properties"]["Method"])));
        }
    }
    let function = logical_id(iam_shared::routes::DEFAULT_ROUTE_FUNCTION, "Function");
    assert_eq!(defaults, [(function, "ANY".to_string())], "one $default route, every method");
}

#[test]
fn the_apis_cors_configuration_is_the_one_iam_serve_enforces() {
    use iam_shared::http::cors;
    let t = template();
    let (tag, choice) = tagged(&t["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]);
    assert_eq!(tag, "!If", "CORS only when origins are configured");
    assert_eq!(choice[0], "HasCorsOrigins");
    let config = &choice[1];
    assert_eq!(strings(&config["AllowMethods"]), cors::allowed_methods());
    assert_eq!(strings(&config["AllowHeaders"]), cors::ALLOWED_HEADERS);
    assert_eq!(strings(&config["ExposeHeaders"]), cors::EXPOSED_HEADERS);
    assert_eq!(config["MaxAge"].as_u64(), Some(cors::MAX_AGE_SECS));
    assert!(format!("{:?}", config["AllowOrigins"]).contains("CorsOrigins"), "the origins are the parameter's");
    assert!(config["AllowCredentials"].is_null(), "bearer tokens, no cookies: credentials stay off");
    assert_eq!(tagged(&choice[2]), ("!Ref".to_string(), &Value::String("AWS::NoValue".into())));
}

#[test]
fn every_function_logs_json_lines_to_a_group_with_a_retention() {
    let t = template();
    let logging = &t["Globals"]["Function"]["LoggingConfig"];
    assert_eq!(logging["LogFormat"], "JSON");
    assert!(t["Globals"]["Function"]["Environment"]["Variables"]["RUST_LOG"].is_null(), "Lambda's level rules");
    let functions: Vec<_> = iam_shared::routes::FUNCTIONS.iter().chain(iam_shared::routes::BACKGROUND).collect();
    for function in functions {
        let id = logical_id(function, "Function");
        let group = logical_id(function, "Logs");
        let config = &t["Resources"][id.as_str()]["Properties"]["LoggingConfig"]["LogGroup"];
        assert_eq!(tagged(config), ("!Ref".to_string(), &Value::String(group.clone())), "{id}");
        let group = &t["Resources"][group.as_str()];
        assert_eq!(group["Type"], "AWS::Logs::LogGroup");
        let retention = tagged(&group["Properties"]["RetentionInDays"]);
        assert_eq!(retention, ("!Ref".to_string(), &Value::String("LogRetentionDays".into())), "{id}");
    }
}

#[test]
fn the_template_tables_equal_the_schema() {
    let t = template();
    for table in TABLES {
        let id = logical_id(table.name, "Table");
        let props = &t["Resources"][id.as_str()]["Properties"];
        assert!(!props.is_null(), "{id} missing from the template");
        assert_eq!(props["KeySchema"][0]["AttributeName"], "id", "{id}");
        let mut declared: Vec<(String, String, Option<String>, bool)> = props["GlobalSecondaryIndexes"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .map(|g| {
                        let keys = g["KeySchema"].as_sequence().unwrap();
                        (
                            str_of(&g["IndexName"]),
                            str_of(&keys[0]["AttributeName"]),
                            keys.get(1).map(|k| str_of(&k["AttributeName"])),
                            g["Projection"]["ProjectionType"] == "KEYS_ONLY",
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut expected: Vec<_> = table
            .indexes
            .iter()
            .map(|i| (i.name.to_string(), i.pk_attr().to_string(), i.sk.map(String::from), i.keys_only))
            .collect();
        declared.sort();
        expected.sort();
        assert_eq!(declared, expected, "{id} indexes");
        assert_eq!(props["TimeToLiveSpecification"]["AttributeName"].as_str(), table.ttl, "{id} TTL");
        let name = match &props["TableName"] {
            Value::Tagged(tagged) => str_of(&tagged.value),
            other => str_of(other),
        };
        assert!(name.ends_with(&format!("-{}", table.name)), "{id} is named {name}");
    }
    let tables = t["Resources"].as_mapping().unwrap().values().filter(|r| r["Type"] == "AWS::DynamoDB::Table").count();
    assert_eq!(tables, TABLES.len(), "no table the schema does not know");
}

#[test]
fn cleanup_runs_hourly_and_mail_goes_only_from_the_configured_identity() {
    let t = template();
    let cleanup = &t["Resources"]["CleanupFunction"]["Properties"];
    let schedules: Vec<_> = cleanup["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|e| e["Type"] == "Schedule")
        .map(|e| str_of(&e["Properties"]["Schedule"]))
        .collect();
    assert_eq!(schedules, ["rate(1 hour)"]);
    let mut ses_statements = 0;
    for (id, resource) in t["Resources"].as_mapping().unwrap() {
        for statement in inline_statements(resource).iter().filter(|s| format!("{:?}", s["Action"]).contains("ses:")) {
            let resource = format!("{:?}", statement["Resource"]);
            assert!(resource.contains("identity/${SesIdentity}"), "{id:?} may send as anyone: {resource}");
            ses_statements += 1;
        }
    }
    assert_eq!(ses_statements, 1, "the mailer alone sends mail");
    let mailer = &t["Resources"]["MailerFunction"];
    assert!(format!("{:?}", inline_statements(mailer)).contains("ses:SendEmail"), "it is the mailer's");
}

#[test]
fn the_mailer_is_woken_by_new_letters_with_bounded_retries_and_alone_reads_its_key() {
    let t = template();
    let outbox = &t["Resources"]["OutboxTable"]["Properties"];
    assert_eq!(outbox["StreamSpecification"]["StreamViewType"], "KEYS_ONLY", "the stream carries no letter");
    let mailer = &t["Resources"]["MailerFunction"]["Properties"];
    let events = mailer["Events"].as_mapping().unwrap();
    let stream = events.values().find(|e| e["Type"] == "DynamoDB").expect("a stream event");
    let p = &stream["Properties"];
    assert!(format!("{:?}", p["Stream"]).contains("OutboxTable"), "{:?}", p["Stream"]);
    let retries = p["MaximumRetryAttempts"].as_u64().expect("bounded retries");
    assert!((1..=10).contains(&retries), "{retries}");
    assert!(p["MaximumRecordAgeInSeconds"].as_u64().is_some());
    assert_eq!(strings(&p["FunctionResponseTypes"]), ["ReportBatchItemFailures"], "only failed records are retried");
    assert_eq!(str_of(&p["FilterCriteria"]["Filters"][0]["Pattern"]), r#"{"eventName": ["INSERT"]}"#);
    let failure = &p["DestinationConfig"]["OnFailure"];
    assert_eq!(failure["Type"], "SQS");
    assert!(format!("{:?}", failure["Destination"]).contains("MailerFailures"));
    let sweeps: Vec<_> =
        events.values().filter(|e| e["Type"] == "Schedule").map(|e| str_of(&e["Properties"]["Schedule"])).collect();
    assert_eq!(sweeps, ["rate(5 minutes)"]);
    assert!(references(&mailer["Environment"]["Variables"]["IAM_OUTBOX_KEY_PARAMETER"], "OutboxKeyParameter"));

    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert!(references(&globals["IAM_OUTBOX_PUBLIC_KEY"], "OutboxPublicKey"), "request functions seal to it");
    assert!(globals.get("IAM_OUTBOX_KEY").is_none() && globals.get("IAM_OUTBOX_KEY_PARAMETER").is_none());
    assert!(globals.get("IAM_MAILER").is_none(), "request functions have no mail adapter");
    for (id, resource) in t["Resources"].as_mapping().unwrap() {
        let Some(policies) = resource["Properties"]["Policies"].as_sequence() else { continue };
        let reads_key = policies.iter().any(|p| references(p, "ReadOutboxKeyPolicy"));
        assert_eq!(reads_key, *id == "MailerFunction", "{id:?}");
        // Request functions only post letters; only the mailer reads, updates or deletes them.
        for statement in inline_statements(resource) {
            if format!("{:?}", statement["Resource"]).contains("OutboxTable") && *id != "MailerFunction" {
                assert_eq!(strings(&statement["Action"]), ["dynamodb:PutItem"], "{id:?}");
            }
        }
    }
}

/// Every inline policy statement of a function (managed policies referenced by `!Ref` are skipped).
fn inline_statements(resource: &Value) -> Vec<Value> {
    let policies = resource["Properties"]["Policies"].as_sequence().cloned().unwrap_or_default();
    policies.iter().flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default()).collect()
}

fn references(policy: &Value, id: &str) -> bool {
    matches!(policy, Value::Tagged(t) if t.tag == "!Ref" && t.value == id)
}

#[test]
fn the_issuer_alone_reads_the_signing_key_and_every_function_gets_the_published_keys() {
    let t = template();
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert!(globals.get("IAM_SIGNING_KEY").is_none(), "the key itself must not be in the configuration");
    assert!(globals.get("IAM_SIGNING_KEY_PARAMETER").is_none(), "only the issuer is told where the key is");
    // Resolved at deploy time from a plain String: no round trip and no decrypt at cold start.
    let published = format!("{:?}", globals["IAM_VERIFICATION_KEYS"]);
    assert!(published.contains("{{resolve:ssm:${VerificationKeysParameter}}}"), "{published}");
    let statement = &t["Resources"]["ReadSigningKeyPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    // The issuer reads its two keys with one `GetParameters` (`aws::read_secure_parameters`).
    assert_eq!(strings(&statement["Action"]), ["ssm:GetParameters"]);
    assert!(format!("{:?}", statement["Resource"]).contains(":parameter${SigningKeyParameter}"));
    let statement = &t["Resources"]["ReadMfaKeyPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(strings(&statement["Action"]), ["ssm:GetParameters"]);
    assert!(format!("{:?}", statement["Resource"]).contains(":parameter${MfaKeyParameter}"));
    let issuer = &t["Resources"]["SessionsFunction"]["Properties"];
    assert!(references(&issuer["Environment"]["Variables"]["IAM_SIGNING_KEY_PARAMETER"], "SigningKeyParameter"));
    for function in iam_shared::routes::FUNCTIONS.iter().chain(iam_shared::routes::BACKGROUND) {
        let resource = &t["Resources"][logical_id(function, "Function")];
        let policies = resource["Properties"]["Policies"].as_sequence().expect("policies");
        let reads_key = policies.iter().any(|p| references(p, "ReadSigningKeyPolicy"));
        assert_eq!(reads_key, *function == "sessions", "{function}: only the issuer signs");
        let told = resource["Properties"]["Environment"]["Variables"].get("IAM_SIGNING_KEY_PARAMETER").is_some();
        assert_eq!(told, *function == "sessions", "{function}");
        let inline = format!("{:?}", inline_statements(resource));
        assert!(!inline.contains("ssm:") && !inline.contains("secretsmanager:"), "{function}: {inline}");
        assert!(!inline.contains("kms:"), "{function}: no function decrypts");
    }
}
