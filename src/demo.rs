//! `docproxy --demo`: the dummy upstream in-process on an ephemeral port, and
//! the proxy in front of it, so one command shows the whole thing working.

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Starts the dummy upstream on 127.0.0.1 and returns its base URL.
pub async fn start_upstream() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let config = dummy_pdf_or_png::Config::default();
        if let Err(error) = dummy_pdf_or_png::serve(listener, config, std::future::pending()).await
        {
            tracing::error!(%error, "demo upstream stopped");
        }
    });
    Ok(format!("http://{addr}"))
}

/// Ready-to-paste commands for the proxy at `addr`.
pub fn banner(addr: SocketAddr, upstream: &str) -> String {
    let base = if addr.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    format!(
        "\ndocproxy demo: proxy on {base}, dummy upstream on {upstream}\n\
         \n  curl -sS -o /dev/null -w '%{{http_code}} %{{content_type}} %{{size_download}} bytes\\n' {base}/1\
         \n  curl -sS -OJ {base}/529852          # saves 529852.pdf or 529852.png\
         \n  curl -sS -i {base}/not-an-id        # 400 problem+json\
         \n  curl -sS {base}/readyz\
         \n  curl -sS {base}/metrics | grep docproxy_documents\
         \n\nCtrl-C stops it.\n"
    )
}
