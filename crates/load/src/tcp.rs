//! The TCP side: a client stream with STARTTLS, trusting only the given certificate.

use std::sync::Arc;

use herald_xml::{Element, Limits, StreamEvent, StreamParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::xmpp::XmppIo;
use crate::{LoadError, Options};

/// TLS settings shared by every connection of a run.
pub(crate) fn tls_connector(opts: &Options) -> Result<tokio_rustls::TlsConnector, LoadError> {
    use rustls::pki_types::pem::PemObject;
    let path = opts.ca.as_ref().ok_or_else(|| LoadError::Config("no CA".into()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(path).map_err(|e| LoadError::Config(format!("{}: {e}", path.display())))? {
        roots.add(cert.map_err(|e| LoadError::Config(e.to_string()))?).map_err(|e| LoadError::Config(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LoadError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// One TCP client stream, encrypted after STARTTLS.
pub(crate) struct TcpClient {
    io: TlsStream<TcpStream>,
    parser: StreamParser,
    events: std::collections::VecDeque<StreamEvent>,
    domain: String,
}

fn header(domain: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
    )
}

async fn read_element<S: AsyncReadExt + Unpin>(
    io: &mut S,
    parser: &mut StreamParser,
    events: &mut std::collections::VecDeque<StreamEvent>,
) -> Result<Element, LoadError> {
    let mut buf = [0u8; 4096];
    loop {
        while let Some(event) = events.pop_front() {
            match event {
                StreamEvent::Element(el) => return Ok(el),
                StreamEvent::Open(_) => {}
                StreamEvent::Close => return Err(LoadError::Protocol("stream closed by the server".into())),
            }
        }
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Err(LoadError::Protocol("connection closed".into()));
        }
        let mut out = Vec::new();
        parser.feed(&buf[..n], &mut out).map_err(|e| LoadError::Protocol(e.to_string()))?;
        events.extend(out);
    }
}

impl TcpClient {
    /// Connects (from the source address of connection `n`) and negotiates STARTTLS.
    pub(crate) async fn connect(opts: &Options, n: usize, tls: &tokio_rustls::TlsConnector) -> Result<Self, LoadError> {
        let mut tcp = opts.connect(n, opts.c2s_port).await?;
        let mut parser = StreamParser::new(Limits::default());
        let mut events = std::collections::VecDeque::new();
        tcp.write_all(header(&opts.domain).as_bytes()).await?;
        let features = read_element(&mut tcp, &mut parser, &mut events).await?;
        if !features.elements().any(|e| e.name == "starttls") {
            return Err(LoadError::Protocol("the server offers no STARTTLS".into()));
        }
        tcp.write_all(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await?;
        let proceed = read_element(&mut tcp, &mut parser, &mut events).await?;
        if proceed.name != "proceed" {
            return Err(LoadError::Protocol(format!("STARTTLS refused: {}", proceed.to_xml())));
        }
        let name = rustls::pki_types::ServerName::try_from(opts.domain.clone()).map_err(|e| LoadError::Config(e.to_string()))?;
        let io = tls.connect(name, tcp).await?;
        let mut client = Self {
            io,
            parser: StreamParser::new(Limits::default()),
            events: std::collections::VecDeque::new(),
            domain: opts.domain.clone(),
        };
        client.restart().await?;
        Ok(client)
    }

    /// Reads the next element (a stanza pushed by the server).
    pub(crate) async fn read(&mut self) -> Result<Element, LoadError> {
        read_element(&mut self.io, &mut self.parser, &mut self.events).await
    }
}

impl XmppIo for TcpClient {
    async fn send(&mut self, xml: &str) -> Result<(), LoadError> {
        self.io.write_all(xml.as_bytes()).await?;
        Ok(())
    }

    async fn next(&mut self) -> Result<Element, LoadError> {
        self.read().await
    }

    async fn send_soon(&mut self, xml: &str) -> Result<(), LoadError> {
        self.send(xml).await
    }

    async fn restart(&mut self) -> Result<(), LoadError> {
        self.parser = StreamParser::new(Limits::default());
        self.events.clear();
        self.io.write_all(header(&self.domain).as_bytes()).await?;
        Ok(())
    }
}
