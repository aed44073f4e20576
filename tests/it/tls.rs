//! TLS on the gRPC port, with certificates from a throwaway CA made in the
//! test: calls over TLS work and plaintext ones do not, the plaintext
//! health port answers the kubelet, client certificates are required with
//! `client_ca_file`, a renewed certificate is served without a restart, and
//! unusable files stop the start with the file named.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use memorid::config::{Config, TlsConfig};
use memorid::pb::memory_service_client::MemoryServiceClient;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{Backend, test_config};

/// A CA that signs server and client certificates for `localhost`.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, in PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn leaf(&self, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn server(&self) -> Leaf {
        self.leaf(ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self) -> Leaf {
        self.leaf(ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// The server's files in a temporary directory.
struct TlsFiles {
    dir: TempDir,
}

impl TlsFiles {
    fn new(server: &Leaf, client_ca: Option<&TestCa>) -> TlsFiles {
        let files = TlsFiles {
            dir: tempfile::tempdir().unwrap(),
        };
        files.write(server);
        if let Some(ca) = client_ca {
            std::fs::write(files.path("ca.crt"), ca.pem()).unwrap();
        }
        files
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Replaces the certificate and key as a Secret update does: whole
    /// files swapped in by rename.
    fn write(&self, leaf: &Leaf) {
        for (name, pem) in [("tls.crt", &leaf.cert), ("tls.key", &leaf.key)] {
            let staged = self.path(&format!(".{name}.new"));
            std::fs::write(&staged, pem).unwrap();
            std::fs::rename(&staged, self.path(name)).unwrap();
        }
    }

    fn config(&self, client_auth: bool) -> TlsConfig {
        TlsConfig {
            cert_file: self.path("tls.crt"),
            key_file: self.path("tls.key"),
            client_ca_file: client_auth.then(|| self.path("ca.crt")),
            reload_secs: 1,
        }
    }
}

/// A server on TLS, waited for through its plaintext health port.
struct TlsServer {
    addr: SocketAddr,
    health: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    _storage: Option<TempDir>,
}

impl TlsServer {
    async fn start(tls: TlsConfig) -> TlsServer {
        let (mut config, storage) = test_config(Backend::Sqlite, None).await;
        let health = free_port().await;
        config.server.health_listen = Some(health);
        config.server.tls = Some(tls);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(memorid::server::serve(config, listener, async {
            let _ = rx.await;
        }));
        let server = TlsServer {
            addr,
            health,
            shutdown: Some(tx),
            handle,
            _storage: storage,
        };
        for _ in 0..200 {
            if health_status(server.plaintext_health_url()).await == Some(1) {
                return server;
            }
            assert!(
                !server.handle.is_finished(),
                "the server stopped while starting"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the health port never said SERVING");
    }

    fn plaintext_health_url(&self) -> String {
        format!("http://{}", self.health)
    }

    async fn connect(
        &self,
        trusted: &TestCa,
        identity: Option<&Leaf>,
    ) -> Result<Channel, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(trusted.pem()))
            .domain_name("localhost");
        if let Some(leaf) = identity {
            tls = tls.identity(Identity::from_pem(&leaf.cert, &leaf.key));
        }
        Channel::from_shared(format!("https://localhost:{}", self.addr.port()))
            .unwrap()
            .tls_config(tls)?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
    }

    async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("the server did not stop")
            .unwrap()
            .unwrap();
    }
}

async fn free_port() -> SocketAddr {
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    probe.local_addr().unwrap()
}

/// The whole server's health status over `url`, or None when no answer.
async fn health_status(url: String) -> Option<i32> {
    let channel = Channel::from_shared(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .ok()?;
    let mut health = HealthClient::new(channel);
    let request = HealthCheckRequest {
        service: String::new(),
    };
    let answer = tokio::time::timeout(Duration::from_secs(5), health.check(request)).await;
    Some(answer.ok()?.ok()?.into_inner().status)
}

/// A memori.v1 call that succeeds on a working connection.
async fn recall_works(channel: Channel) -> Result<(), tonic::Status> {
    let mut memory = MemoryServiceClient::new(channel);
    let request = memorid::pb::RecallRequest {
        attribution: crate::support::whole_entity("user-tls"),
        query: "anything".into(),
        ..Default::default()
    };
    memory.recall(request).await.map(|_| ())
}

/// Whether a client trusting `trusted` (presenting `identity`) is turned
/// away. TLS 1.3 may finish the client's side of the handshake before the
/// server refuses, so the refusal shows on the first call or earlier.
async fn refused(server: &TlsServer, trusted: &TestCa, identity: Option<&Leaf>) -> bool {
    match server.connect(trusted, identity).await {
        Err(_) => true,
        Ok(channel) => recall_works(channel).await.is_err(),
    }
}

#[tokio::test]
async fn calls_go_over_tls_and_plaintext_is_refused_on_that_port() {
    let ca = TestCa::new("test CA");
    let files = TlsFiles::new(&ca.server(), None);
    let server = TlsServer::start(files.config(false)).await;

    let channel = server.connect(&ca, None).await.expect("a TLS connection");
    recall_works(channel.clone())
        .await
        .expect("Recall over TLS");
    let mut health = HealthClient::new(channel);
    let status = health
        .check(HealthCheckRequest::default())
        .await
        .expect("health over TLS")
        .into_inner()
        .status;
    assert_eq!(status, 1);

    // A plaintext HTTP/2 client on the TLS port gets no gRPC answer.
    assert_eq!(health_status(format!("http://{}", server.addr)).await, None);
    // A client that trusts another CA refuses the server.
    let stranger = TestCa::new("another CA");
    assert!(
        refused(&server, &stranger, None).await,
        "a client trusting another CA must not get through"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_health_port_serves_health_only_in_plaintext() {
    let ca = TestCa::new("test CA");
    let files = TlsFiles::new(&ca.server(), None);
    let server = TlsServer::start(files.config(false)).await;
    let channel = Channel::from_shared(server.plaintext_health_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let error = recall_works(channel).await.unwrap_err();
    assert_eq!(
        error.code(),
        tonic::Code::Unimplemented,
        "the health port must not serve memori.v1: {error:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn client_certificates_are_required_when_a_client_ca_is_set() {
    let ca = TestCa::new("test CA");
    let files = TlsFiles::new(&ca.server(), Some(&ca));
    let server = TlsServer::start(files.config(true)).await;

    let channel = server
        .connect(&ca, Some(&ca.client()))
        .await
        .expect("a connection with a client certificate");
    recall_works(channel)
        .await
        .expect("Recall with a client certificate");

    assert!(
        refused(&server, &ca, None).await,
        "a client without a certificate must be refused"
    );
    let other_ca = TestCa::new("another CA");
    assert!(
        refused(&server, &ca, Some(&other_ca.client())).await,
        "a certificate from another CA must be refused"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let old_ca = TestCa::new("old CA");
    let files = TlsFiles::new(&old_ca.server(), None);
    let server = TlsServer::start(files.config(false)).await;
    let open = server.connect(&old_ca, None).await.unwrap();

    // cert-manager renews from a new CA; a half-written renewal (a
    // certificate without its key) must not take the old one down.
    let new_ca = TestCa::new("new CA");
    let renewed = new_ca.server();
    std::fs::write(files.path("tls.crt"), &renewed.cert).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        server.connect(&old_ca, None).await.is_ok(),
        "a certificate without its key must leave the old one serving"
    );
    files.write(&renewed);

    let mut picked_up = false;
    for _ in 0..60 {
        if let Ok(channel) = server.connect(&new_ca, None).await
            && recall_works(channel).await.is_ok()
        {
            picked_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        picked_up,
        "the renewed certificate was not served within 6 s"
    );
    // The connection made before the renewal keeps working.
    recall_works(open)
        .await
        .expect("an open connection survives renewal");
    server.stop().await;
}

#[tokio::test]
async fn unusable_files_stop_the_start_naming_the_file() {
    let ca = TestCa::new("test CA");
    let files = TlsFiles::new(&ca.server(), None);
    let other_key = ca.server().key;
    let cases: Vec<(TlsConfig, &str)> = vec![
        (
            TlsConfig {
                cert_file: files.path("missing.crt"),
                ..files.config(false)
            },
            "server.tls.cert_file",
        ),
        (
            {
                std::fs::write(files.path("garbage.key"), "not a key").unwrap();
                TlsConfig {
                    key_file: files.path("garbage.key"),
                    ..files.config(false)
                }
            },
            "server.tls.key_file",
        ),
        (
            {
                std::fs::write(files.path("other.key"), &other_key).unwrap();
                TlsConfig {
                    key_file: files.path("other.key"),
                    ..files.config(false)
                }
            },
            "do not make a certificate and its key",
        ),
    ];
    for (tls, expected) in cases {
        let (mut config, _storage): (Config, _) = test_config(Backend::Sqlite, None).await;
        config.server.tls = Some(tls);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            memorid::server::serve(config, listener, std::future::pending()),
        )
        .await
        .expect("a bad TLS config must fail at once");
        let message = format!("{:#}", result.expect_err("the start must fail"));
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
    }
}
