//! `/metrics` speaks the Prometheus format fully and can live on an internal address;
//! the docs page keeps its token and calls nothing outside.

use reqwest::Method;

use crate::helpers::TestApp;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_have_help_types_process_figures_and_the_build() {
    let app = TestApp::spawn().await;
    app.request(Method::GET, "/healthz").send().await.unwrap();
    let text = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "# HELP http_requests_total ",
        "# TYPE http_requests_total counter",
        "# HELP http_request_duration_seconds ",
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_open_fds gauge",
        "# TYPE process_start_time_seconds gauge",
        "party_center_build_info{version=\"",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let rss: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rss > 1_000_000.0, "a resident size in bytes: {rss}");
}

#[tokio::test]
async fn with_an_internal_address_metrics_are_served_there_and_only_there() {
    let port = free_port();
    let app = TestApp::spawn_with(|_, serve| {
        serve.metrics_bind = Some(format!("127.0.0.1:{port}").parse().unwrap());
    })
    .await;
    let internal = format!("http://127.0.0.1:{port}");
    let get = |url: String| async move { reqwest::get(url).await.unwrap().status() };
    assert_eq!(get(format!("{internal}/metrics")).await, 200);
    assert_eq!(
        get(format!("{internal}/healthz")).await,
        404,
        "nothing else internally"
    );
    assert_eq!(
        get(format!("{}/metrics", app.base)).await,
        404,
        "not on the public address"
    );
    assert_eq!(get(format!("{}/healthz", app.base)).await, 200);
}

/// Swagger UI keeps the token across reloads and calls no outside validator.
#[tokio::test]
async fn the_docs_page_keeps_authorization_and_validates_nothing_outside() {
    let app = TestApp::spawn().await;
    let config = app
        .request(Method::GET, "/docs/swagger-initializer.js")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        config.contains("\"persistAuthorization\": true"),
        "{config}"
    );
    assert!(config.contains("\"validatorUrl\": \"none\""), "{config}");
}
