#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
    dummy_pdf_or_png::serve(listener, Default::default(), std::future::pending()).await
}
