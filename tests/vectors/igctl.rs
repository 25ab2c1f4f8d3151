//! `igctl` behaves like the reference's (`reference-data-plane.md` §2.11), and what it
//! mints verifies in the domain.

use std::process::{Command, Output};

use intentgate::adapters::clock::SystemClock;
use intentgate::domain::token::{MasterKey, decode, verify_offline};
use intentgate::ports::Clock;

use super::token::{KEY_B64, V1_ENCODED};

fn igctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_igctl"))
        .args(args)
        .env_remove("INTENTGATE_MASTER_KEY")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn gen_key_prints_32_random_bytes() {
    let (a, b) = (igctl(&["gen-key"]), igctl(&["gen-key"]));
    assert!(a.status.success());
    let text = stdout(&a);
    assert_eq!(text.trim_end().len(), 43);
    assert_eq!(MasterKey::parse(text.trim()).unwrap().as_bytes().len(), 32);
    assert_ne!(text, stdout(&b));
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // The read end is closed before igctl writes, so its write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_igctl"))
        .args(["decode", V1_ENCODED])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn minted_token_verifies_with_reference_caveat_order() {
    let out = igctl(&[
        "mint",
        "--master-key",
        KEY_B64,
        "--subject",
        "agent-x",
        "--tools",
        " read_invoice, ,record_in_ledger ",
        "--forbidden",
        "wipe",
        "--max-calls",
        "5",
        "--ttl",
        "1h",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let encoded = stdout(&out);
    assert!(encoded.ends_with('\n'));
    let key = MasterKey::parse(KEY_B64).unwrap();
    let now = SystemClock.now();
    let token = verify_offline(encoded.trim(), &key, now, "read_invoice").unwrap();
    let kinds: Vec<&str> = token.cav.iter().map(|c| c.t.as_str()).collect();
    assert_eq!(
        kinds,
        ["agent_lock", "exp", "tool_allow", "tool_deny", "max_calls"]
    );
    assert_eq!(token.cav[2].tools, ["read_invoice", "record_in_ledger"]);
    assert_eq!(token.cav[1].exp - token.iat, 3600);
    assert_eq!(
        (token.tenant.as_str(), token.iss.as_str()),
        ("default", "intentgate")
    );
    assert_eq!(token.jti, token.root_jti);
    assert_eq!(token.jti.len(), 22);
    assert!(verify_offline(encoded.trim(), &key, now, "send_email").is_err());
}

#[test]
fn mint_takes_tenant_issuer_and_the_env_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_igctl"))
        .args([
            "mint",
            "--subject",
            "bot",
            "--tenant",
            "acme",
            "--issuer",
            "ops",
            "--pretty",
        ])
        .env("INTENTGATE_MASTER_KEY", KEY_B64)
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = decode(stdout(&out).trim()).unwrap();
    assert_eq!((token.tenant.as_str(), token.iss.as_str()), ("acme", "ops"));
    let pretty = String::from_utf8(out.stderr).unwrap();
    assert!(
        pretty.starts_with("{\n  \"v\": 3,\n  \"jti\": "),
        "{pretty}"
    );
}

/// `gen-key` prints base64url, which starts with `-` one time in 64: such a key is
/// still a value of `--master-key`, not an unknown flag.
#[test]
fn a_master_key_starting_with_a_dash_is_taken() {
    use base64::Engine as _;
    let mut bytes = [7u8; 32];
    bytes[0] = 0xf8;
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    assert!(key.starts_with('-'), "{key}");
    let out = igctl(&["mint", "--master-key", &key, "--subject", "bot"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn decode_prints_indented_json_without_verifying() {
    let out = igctl(&["decode", V1_ENCODED]);
    assert!(out.status.success());
    let want = r#"{
  "v": 3,
  "jti": "aCEawAECAwQFBgcICQoLDA",
  "root_jti": "aCEawAECAwQFBgcICQoLDA",
  "iss": "intentgate",
  "tenant": "default",
  "sub": "agent-x",
  "iat": 1747000000,
  "cav": [
    {
      "t": "agent_lock",
      "agent": "agent-x"
    },
    {
      "t": "exp",
      "exp": 1747003600
    },
    {
      "t": "tool_allow",
      "tools": [
        "read_invoice",
        "record_in_ledger"
      ]
    },
    {
      "t": "max_calls",
      "max_calls": 5
    }
  ],
  "sig": "qmUAYpQXL36e4Fu1Y2dOMG0IWAcwAJ4OTD-jaOBWaMU"
}
"#;
    assert_eq!(stdout(&out), want);
}

#[test]
fn errors_exit_1_and_usage_exits_2() {
    let bad_key = igctl(&["mint", "--master-key", "short", "--subject", "a"]);
    assert_eq!(bad_key.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad_key.stderr),
        "error: master key is not valid base64\n"
    );
    let no_key = igctl(&["mint", "--subject", "a"]);
    assert_eq!(no_key.status.code(), Some(1));
    // The reference: 0 means unlimited / no expiry, so no caveat.
    let zero = igctl(&[
        "mint",
        "--master-key",
        KEY_B64,
        "--subject",
        "a",
        "--max-calls",
        "0",
        "--ttl",
        "0",
    ]);
    assert_eq!(
        zero.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&zero.stderr)
    );
    let token = String::from_utf8_lossy(&zero.stdout).trim().to_owned();
    let decoded = intentgate::domain::token::decode(&token).unwrap();
    assert_eq!(decoded.cav.len(), 1, "only agent_lock");
    let negative = igctl(&[
        "mint",
        "--master-key",
        KEY_B64,
        "--subject",
        "a",
        "--max-calls=-1",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&negative.stderr),
        "error: --max-calls must be >= 0\n"
    );
    let garbage = igctl(&["decode", "%%%"]);
    assert_eq!(
        String::from_utf8_lossy(&garbage.stderr),
        "error: token is not valid base64url\n"
    );
    assert_eq!(igctl(&[]).status.code(), Some(2));
    assert_eq!(igctl(&["frobnicate"]).status.code(), Some(2));
}

fn igctl_admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_igctl"))
        .args(args)
        .env_remove("INTENTGATE_GATEWAY_URL")
        .env_remove("INTENTGATE_ADMIN_TOKEN")
        .output()
        .unwrap()
}

#[test]
fn admin_commands_need_a_gateway_a_token_and_one_verdict() {
    let no_gateway = igctl_admin(&["revoke", "--jti", "x", "--admin-token", "t"]);
    assert_eq!(no_gateway.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&no_gateway.stderr),
        "error: --gateway or INTENTGATE_GATEWAY_URL is required\n"
    );
    let no_token = igctl_admin(&["revocations", "--gateway", "http://127.0.0.1:1"]);
    assert_eq!(
        String::from_utf8_lossy(&no_token.stderr),
        "error: --admin-token or INTENTGATE_ADMIN_TOKEN is required\n"
    );
    let gw = ["--gateway", "http://127.0.0.1:1", "--admin-token", "t"];
    let decide = |verdict: &[&str]| {
        let mut args = vec!["approvals", "decide", "p-1"];
        args.extend_from_slice(verdict);
        args.extend_from_slice(&gw);
        igctl_admin(&args).status.code()
    };
    assert_eq!(decide(&[]), Some(2));
    assert_eq!(decide(&["--approve", "--reject"]), Some(2));
    let refused = igctl_admin(&[
        "audit", "query", "--tenant", "acme", gw[0], gw[1], gw[2], gw[3],
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).starts_with("error: "),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
