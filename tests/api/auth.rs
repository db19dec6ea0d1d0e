//! Authentication and roles: every way a token can be wrong, each with its status and a
//! problem+json body.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, HS_SECRET, ISSUER, TestApp, keys_dir, problem, uuid};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid committee claims for `town`.
fn claims(town: &str) -> Value {
    json!({
        "sub": "committee-secretary",
        "role": "committee",
        "town": town,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now(),
        "exp": now() + 600,
    })
}

fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(HS_SECRET),
    )
    .unwrap()
}

fn signed_with(alg: Algorithm, kid: &str, key_file: &str, claims: &Value) -> String {
    let pem = std::fs::read(keys_dir().join(key_file)).unwrap();
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem).unwrap(),
        _ => unreachable!(),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A token with any header, signed by HMAC-SHA256 under `secret` whatever the header says.
fn forged(header: Value, claims: &Value, secret: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(signing_input.as_bytes());
    let sig = mac.finalize().into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

async fn get_town(app: &TestApp, town: &str, auth: Option<&str>) -> reqwest::Response {
    let mut req = app.request(Method::GET, &format!("/api/v1/towns/{town}"));
    if let Some(value) = auth {
        req = req.header("authorization", value);
    }
    req.send().await.unwrap()
}

async fn expect_401(app: &TestApp, town: &str, token: &str, code: &str, why: &str) {
    let res = get_town(app, town, Some(&format!("Bearer {token}"))).await;
    assert_eq!(res.status(), 401, "{why}");
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let body = problem(res, 401).await;
    assert_eq!(body["code"], code, "{why}");
}

#[tokio::test]
async fn a_valid_token_of_each_algorithm_is_accepted() {
    let app = TestApp::spawn().await;
    let town = app.create_town("A1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = claims(&town);
    for token in [
        hs256(&c),
        signed_with(Algorithm::RS256, "rsa-1", "rsa.key", &c),
        signed_with(Algorithm::EdDSA, "ed-1", "ed.key", &c),
    ] {
        let res = get_town(&app, &town, Some(&format!("Bearer {token}"))).await;
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn missing_and_malformed_authorization_headers_are_401() {
    let app = TestApp::spawn().await;
    let town = app.create_town("A2").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = problem(get_town(&app, &town, None).await, 401).await;
    assert_eq!(body["code"], "missing_token");
    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "token-without-scheme",
    ] {
        let body = problem(get_town(&app, &town, Some(header)).await, 401).await;
        assert_eq!(body["code"], "malformed_authorization", "{header}");
    }
    expect_401(&app, &town, "not.a.jwt", "invalid_token", "garbage").await;
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_401() {
    let app = TestApp::spawn().await;
    let town = app.create_town("A3").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = claims(&town);

    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(c.to_string())
    );
    expect_401(&app, &town, &none, "invalid_token", "alg none").await;

    // The classic confusion: HS256 keyed with the server's RSA *public* key.
    let rsa_pub = std::fs::read(keys_dir().join("rsa.pub")).unwrap();
    let confused = forged(
        json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}),
        &c,
        &rsa_pub,
    );
    expect_401(
        &app,
        &town,
        &confused,
        "invalid_token",
        "HS256 signed with the RS public key",
    )
    .await;

    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &c,
        &EncodingKey::from_secret(HS_SECRET),
    )
    .unwrap();
    expect_401(
        &app,
        &town,
        &hs512,
        "invalid_token",
        "HS512 is not on the list",
    )
    .await;

    let rs512 = {
        let pem = std::fs::read(keys_dir().join("rsa.key")).unwrap();
        let mut h = Header::new(Algorithm::RS512);
        h.kid = Some("rsa-1".into());
        jsonwebtoken::encode(&h, &c, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
    };
    expect_401(
        &app,
        &town,
        &rs512,
        "invalid_token",
        "RS512 is not on the list",
    )
    .await;

    let unknown_kid = signed_with(Algorithm::RS256, "rsa-2", "rsa.key", &c);
    expect_401(&app, &town, &unknown_kid, "invalid_token", "unknown kid").await;
    let wrong_family = signed_with(Algorithm::EdDSA, "rsa-1", "ed.key", &c);
    expect_401(
        &app,
        &town,
        &wrong_family,
        "invalid_token",
        "EdDSA token naming the RSA kid",
    )
    .await;

    let good = hs256(&c);
    let (head, sig) = good.rsplit_once('.').unwrap();
    let mut sig_bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig_bytes[0] ^= 1;
    let flipped = format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig_bytes));
    expect_401(
        &app,
        &town,
        &flipped,
        "invalid_token",
        "a flipped signature bit",
    )
    .await;
}

#[tokio::test]
async fn token_times_are_checked_with_at_most_30_seconds_of_leeway() {
    let app = TestApp::spawn().await;
    let town = app.create_town("A4").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut c = claims(&town);

    c["exp"] = json!(now() - 10);
    let res = get_town(&app, &town, Some(&format!("Bearer {}", hs256(&c)))).await;
    assert_eq!(res.status(), 200, "expired 10 s ago is within the leeway");

    c["exp"] = json!(now() - 120);
    expect_401(
        &app,
        &town,
        &hs256(&c),
        "token_expired",
        "expired beyond the leeway",
    )
    .await;

    c["exp"] = json!((now() + 600).to_string());
    expect_401(&app, &town, &hs256(&c), "invalid_token", "exp as a string").await;

    let mut c = claims(&town);
    c["nbf"] = json!(now() + 300);
    expect_401(
        &app,
        &town,
        &hs256(&c),
        "token_not_yet_valid",
        "nbf in the future",
    )
    .await;

    let mut c = claims(&town);
    c["iat"] = json!(now() + 300);
    expect_401(
        &app,
        &town,
        &hs256(&c),
        "invalid_token",
        "issued in the future",
    )
    .await;
}

#[tokio::test]
async fn every_required_claim_is_required() {
    let app = TestApp::spawn().await;
    let town = app.create_town("A5").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for claim in ["exp", "iat", "sub", "iss", "aud", "role", "town"] {
        let mut c = claims(&town);
        c.as_object_mut().unwrap().remove(claim);
        expect_401(
            &app,
            &town,
            &hs256(&c),
            "invalid_token",
            &format!("without {claim}"),
        )
        .await;
    }
    let mut c = claims(&town);
    c["role"] = json!("member");
    expect_401(
        &app,
        &town,
        &hs256(&c),
        "invalid_token",
        "a member token without member_id",
    )
    .await;
    let mut c = claims(&town);
    c["role"] = json!("county");
    expect_401(
        &app,
        &town,
        &hs256(&c),
        "invalid_token",
        "a county token without county",
    )
    .await;
    let mut c = claims(&town);
    c["role"] = json!("superuser");
    expect_401(&app, &town, &hs256(&c), "invalid_token", "an unknown role").await;
}

#[tokio::test]
async fn issuer_and_audience_must_match() {
    let app = TestApp::spawn().await;
    let town = app.create_town("A6").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut c = claims(&town);
    c["iss"] = json!("someone-else");
    expect_401(&app, &town, &hs256(&c), "invalid_token", "wrong iss").await;
    let mut c = claims(&town);
    c["aud"] = json!("another-api");
    expect_401(&app, &town, &hs256(&c), "invalid_token", "wrong aud").await;
    let mut c = claims(&town);
    c["aud"] = json!(["another-api", AUDIENCE]);
    let res = get_town(&app, &town, Some(&format!("Bearer {}", hs256(&c)))).await;
    assert_eq!(res.status(), 200, "an audience list naming us is fine");
}

#[tokio::test]
async fn a_valid_token_with_the_wrong_role_is_403() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("A7").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let res = app
        .authed(Method::POST, "/api/v1/towns", &staff)
        .json(&json!({"code": "X1", "name": "x", "county_code": "1"}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 403).await;
    assert_eq!(body["code"], "forbidden");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM towns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "nothing was written");
}

#[tokio::test]
async fn a_valid_token_for_another_town_is_404() {
    let app = TestApp::spawn().await;
    let mine = uuid(&app.create_town("A8").await["id"]);
    let other = app.create_town("A9").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app.token(Role::Committee, Some(mine));
    let res = get_town(&app, &other, Some(&format!("Bearer {token}"))).await;
    let body = problem(res, 404).await;
    assert_eq!(body["code"], "not_found");
    let missing = uuid::Uuid::now_v7().to_string();
    let res = get_town(&app, &missing, Some(&format!("Bearer {token}"))).await;
    let same = problem(res, 404).await;
    assert_eq!(
        body["detail"], same["detail"],
        "another town reads exactly like no town"
    );
}
