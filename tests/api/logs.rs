//! Every log line of a request names it: the access line by `request_id`,
//! lines inside a shared upstream fetch by the request that started it, and a
//! coalesced request's access line by the fetch it joined.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;
use wiremock::ResponseTemplate;

use crate::helpers::*;

/// JSON log lines written while the guard lives, on this thread (the test
/// runtime's single thread runs docproxy's tasks too).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn lines(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn access_line(&self, request_id: &str) -> Value {
        self.lines()
            .into_iter()
            .find(|l| {
                l["fields"]["message"] == "request" && l["fields"]["request_id"] == request_id
            })
            .unwrap_or_else(|| panic!("no access line for {request_id}"))
    }
}

#[tokio::test]
async fn a_coalesced_request_names_the_fetch_it_joined() {
    let logs = Captured::default();
    let _guard = logs.install();
    let app = spawn_app().await;
    // Mislabelled, so the shared fetch logs a warning of its own.
    app.upstream_answers(
        ResponseTemplate::new(200)
            .set_body_raw(PNG, "application/pdf")
            .set_delay(Duration::from_millis(300)),
    )
    .await;

    let ids = ["first", "second", "third"];
    let responses = join_all(ids.iter().map(|id| {
        app.client
            .get(format!("{}/7", app.address))
            .header("x-request-id", *id)
            .send()
    }))
    .await;
    assert!(
        responses
            .iter()
            .all(|r| r.as_ref().unwrap().status() == 200)
    );
    assert_eq!(app.upstream_requests().await, 1);

    let sent = app.upstream.received_requests().await.unwrap()[0].headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let warning = logs
        .lines()
        .into_iter()
        .find(|l| l["fields"]["message"] == "upstream mislabelled a document")
        .expect("the mislabel warning");
    assert_eq!(warning["span"]["name"], "fetch");
    assert_eq!(
        warning["span"]["fetch"],
        sent.as_str(),
        "named by the request that started it"
    );
    for id in ids {
        let access = logs.access_line(id);
        if id == sent {
            assert_eq!(access["fields"]["coalesced"], false);
        } else {
            assert_eq!(access["fields"]["coalesced"], true, "{id}");
            assert_eq!(access["fields"]["joined_fetch"], sent.as_str(), "{id}");
        }
    }
}

#[tokio::test]
async fn a_request_abandoned_by_its_client_is_logged_499_with_its_ids() {
    let logs = Captured::default();
    let _guard = logs.install();
    let app = spawn_app().await;
    app.upstream_answers(slow(pdf(), Duration::from_millis(500)))
        .await;

    let abandoned = app
        .client
        .get(format!("{}/42", app.address))
        .header("x-request-id", "gone-1")
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(abandoned.is_err());

    let line = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(line) = logs.lines().into_iter().find(|l| {
                l["fields"]["message"] == "request" && l["fields"]["request_id"] == "gone-1"
            }) {
                break line;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the abandoned request is logged");
    assert_eq!(line["fields"]["status"], 499);
    assert_eq!(line["fields"]["id"], 42);
    assert_eq!(line["fields"]["outcome"], "client_closed");
}
