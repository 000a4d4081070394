//! Upstream OpenID Connect providers: added from the command line with the client secret
//! sealed at rest, written from the configuration file at every start, validated, audited.

use std::collections::BTreeMap;

use tessera::config::UpstreamSettings;
use tessera::services::Caller;
use tessera::services::upstreams::UpstreamSpec;

use crate::helpers::{spawn_app, spawn_app_with};

const SECRET: &str = "upstream-secret-that-must-not-show-7f3a";

fn corp() -> UpstreamSettings {
    UpstreamSettings {
        id: "corp".into(),
        name: "Sign in with Corp".into(),
        issuer: "https://id.corp.example".into(),
        client_id: "tessera".into(),
        client_secret: Some(SECRET.into()),
        client_secret_file: None,
        scopes: vec!["openid".into(), "email".into()],
        link_by_verified_email: false,
        create_users: true,
        trust_upstream_mfa: false,
        roles_claim: Some("groups".into()),
        role_map: BTreeMap::from([("corp-admins".into(), "admin".into())]),
        default_roles: vec!["user".into()],
    }
}

#[tokio::test]
async fn an_admin_adds_lists_and_removes_an_upstream_from_the_command_line() {
    let app = spawn_app().await;
    let secret_file = app.dir.path().join("corp.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let add = |extra: &'static [&'static str]| {
        let mut args = vec![
            "upstream",
            "add",
            "corp",
            "--name",
            "Sign in with Corp",
            "--issuer",
            "https://id.corp.example",
            "--client-id",
            "tessera",
            "--client-secret-file",
            secret_path,
        ];
        args.extend_from_slice(extra);
        args
    };
    let (ok, _, err) = app
        .cli(
            &add(&["--map", "corp-admins=wizard", "--roles-claim", "groups"]),
            None,
        )
        .await;
    assert!(!ok && err.contains("wizard"), "unknown mapped role: {err}");
    let (ok, _, err) = app.cli(&add(&["--map", "corp-admins=admin"]), None).await;
    assert!(!ok && err.contains("roles_claim"), "{err}");
    let (ok, _, err) = app.cli(&add(&["--scopes", "profile"]), None).await;
    assert!(!ok && err.contains("openid"), "{err}");

    let (ok, out, err) = app
        .cli(
            &add(&[
                "--roles-claim",
                "groups",
                "--map",
                "corp-admins=admin",
                "--default-role",
                "user",
                "--json",
            ]),
            None,
        )
        .await;
    assert!(ok, "{err}");
    assert!(!out.contains(SECRET), "the secret is never shown: {out}");
    let added: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(added["has_client_secret"], true);
    assert_eq!(added["role_map"]["corp-admins"], "admin");
    assert_eq!(added["source"], "cli");
    assert_eq!(
        added["scopes"],
        serde_json::json!(["openid", "profile", "email"])
    );

    let (ok, _, err) = app.cli(&add(&[]), None).await;
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = app
        .cli(
            &[
                "upstream",
                "add",
                "Corp",
                "--name",
                "x",
                "--issuer",
                "https://id.corp.example",
                "--client-id",
                "t",
            ],
            None,
        )
        .await;
    assert!(!ok && err.contains("lower-case"), "{err}");
    let (ok, _, err) = app
        .cli(
            &[
                "upstream",
                "add",
                "plain",
                "--name",
                "x",
                "--issuer",
                "http://id.corp.example",
                "--client-id",
                "t",
            ],
            None,
        )
        .await;
    assert!(
        !ok && err.contains("issuer"),
        "plain http off loopback: {err}"
    );

    if crate::helpers::postgres_url().is_none() {
        // At rest the secret is sealed: the database file does not hold it.
        let db = std::fs::read(app.dir.path().join("tessera.db")).unwrap_or_default();
        let wal = std::fs::read(app.dir.path().join("tessera.db-wal")).unwrap_or_default();
        for bytes in [db, wal] {
            assert!(!String::from_utf8_lossy(&bytes).contains(SECRET));
        }
    }

    let (ok, out, _) = app.cli(&["upstream", "list"], None).await;
    assert!(ok && out.contains("corp") && out.contains("(cli)"), "{out}");
    let saved = app.audit(&["--type", "upstream_saved"]).await;
    let successes = saved.iter().filter(|e| e["outcome"] == "success").count();
    assert_eq!(
        (successes, saved.len()),
        (1, 7),
        "one added, six refused: {saved:?}"
    );
    let (ok, out, err) = app.cli(&["upstream", "remove", "corp"], None).await;
    assert!(ok, "{err}");
    assert!(out.contains("removed upstream corp"));
    assert!(
        app.state
            .services
            .list_upstreams()
            .await
            .unwrap()
            .is_empty()
    );
    let (ok, _, err) = app.cli(&["upstream", "remove", "corp"], None).await;
    assert!(!ok && err.contains("not found"), "{err}");
}

#[tokio::test]
async fn the_files_upstreams_are_written_at_start_and_leave_with_the_file() {
    let app = spawn_app_with(|s| s.upstream = vec![corp()]).await;
    let services = &app.state.services;
    let listed = services.list_upstreams().await.unwrap();
    assert_eq!(listed.len(), 1);
    let stored = &listed[0];
    assert_eq!(stored.source.as_str(), "file");
    assert!(stored.has_secret);
    assert_eq!(stored.default_roles, vec!["user"]);
    assert_eq!(stored.scopes, vec!["openid", "email"]);

    let refused = services.remove_upstream(&Caller::cli(), "corp").await;
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("configuration file"),
        "the file's upstreams change in the file"
    );
    services
        .add_upstream(
            &Caller::cli(),
            UpstreamSpec {
                id: "partner".into(),
                name: "Partner".into(),
                issuer: "https://login.partner.example".into(),
                client_id: "tessera".into(),
                create_users: false,
                ..UpstreamSpec::default()
            },
        )
        .await
        .unwrap();

    let bad = UpstreamSpec {
        id: "corp".into(),
        name: "Corp".into(),
        issuer: "https://id.corp.example".into(),
        client_id: "tessera".into(),
        default_roles: vec!["wizard".into()],
        ..UpstreamSpec::default()
    };
    let refused = services.sync_file_upstreams(vec![bad]).await.unwrap_err();
    assert!(
        refused.to_string().contains("[[upstream]] 'corp'"),
        "{refused}"
    );
    assert_eq!(
        services.list_upstreams().await.unwrap().len(),
        2,
        "nothing changed"
    );

    services.sync_file_upstreams(Vec::new()).await.unwrap();
    let left: Vec<String> = services
        .list_upstreams()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(
        left,
        vec!["partner"],
        "the file's went with the file, the CLI's stayed"
    );
}
