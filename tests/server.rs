//! `logfusion serve` as its clients see it: the real binary on a loopback port, queried with
//! arrow-flight's Flight SQL client (and, in [`python_clients`], with ADBC and pyarrow.flight)
//! — authentication, access control, read-only SQL, TLS and mutual TLS, limits, metrics,
//! audit lines, reload, shutdown, and requests meant to break it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{CommandGetTables, ProstMessageExt};
use arrow_flight::{Action, FlightDescriptor, Ticket};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use futures::TryStreamExt;
use prost::Message;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::common::{logfusion, query_csv, sample_config};

/// A token for every source, and one for `access` only.
const READ_ALL: &str = "lf_test_read_all_0123456789abcdefghijklmnopqrstuvwxyz";
const ACCESS_ONLY: &str = "lf_test_access_only_0123456789abcdefghijklmnopqrstu";
const ADMIN: &str = "lf_test_admin_0123456789abcdefghijklmnopqrstuvwxyzAB";
const USER: (&str, &str) = ("alice", "correct horse battery staple");

fn sha256_hex(secret: &str) -> String {
    logfusion_server::token_sha256(secret)
}

/// The `auth:` block of every test server.
fn auth_yaml() -> String {
    let hash = logfusion_server::hash_password(USER.1).expect("hash");
    format!(
        "  auth:\n    tokens:\n      - {{ name: analyst, token_sha256: \"{}\", role: read }}\n      - {{ name: web, token_sha256: \"{}\", role: read, sources: [access] }}\n      - {{ name: ops, token_sha256: \"{}\", role: admin }}\n    users:\n      - {{ name: {}, password_hash: \"{hash}\", role: read }}\n",
        sha256_hex(READ_ALL),
        sha256_hex(ACCESS_ONLY),
        sha256_hex(ADMIN),
        USER.0,
    )
}

/// A running `logfusion serve`, stopped (SIGTERM, then kill) when dropped.
struct Server {
    child: Child,
    addr: String,
    http: Option<String>,
    dir: PathBuf,
    stdout: mpsc::Receiver<String>,
}

impl Server {
    /// Serves the sample sources from `dir/config.yaml` with `network_extra` (YAML lines under
    /// `network:`, indented two spaces) besides the test credentials.
    fn start(dir: &Path, network_extra: &str) -> Server {
        Server::start_with(dir, network_extra, &[])
    }

    fn start_with(dir: &Path, network_extra: &str, args: &[&str]) -> Server {
        let config = sample_config(dir);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("\nnetwork:\n  bind: 127.0.0.1:0\n{}{network_extra}", auth_yaml()));
        std::fs::write(&config, text).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_logfusion"))
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env("XDG_STATE_HOME", dir.join(".state"))
            .args(["serve", "--config"])
            .arg(&config)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("serve.stderr")).unwrap())
            .spawn()
            .expect("logfusion serve starts");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, addr: String::new(), http: None, dir: dir.to_path_buf(), stdout: rx };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.addr.is_empty() {
            let line = match server.stdout.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => line,
                Err(_) if Instant::now() < deadline && server.child.try_wait().unwrap().is_none() => continue,
                Err(_) => panic!("the server did not start:\n{}", server.stderr()),
            };
            if let Some(rest) = line.split("://").nth(1).filter(|_| line.contains("Flight SQL on")) {
                server.addr = rest.split_whitespace().next().unwrap().to_string();
            }
            if let Some(rest) = line.split("http://").nth(1) {
                server.http = Some(rest.split('/').next().unwrap().to_string());
            }
        }
        if network_extra.contains("http:") {
            let line = server.stdout.recv_timeout(Duration::from_secs(10)).expect("the http line");
            server.http = line.split("http://").nth(1).map(|r| r.split('/').next().unwrap().to_string());
        }
        server
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.stderr")).unwrap_or_default()
    }

    /// A plain (no TLS) client with `token`.
    async fn client(&self, token: Option<&str>) -> FlightSqlServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.addr)).unwrap().connect().await.expect("connects");
        let mut client = FlightSqlServiceClient::new(channel);
        if let Some(token) = token {
            client.set_token(token.to_string());
        }
        client
    }

    /// `GET path` on the HTTP endpoint: the status line and the body.
    fn http_get(&self, path: &str) -> (String, String) {
        let mut stream = TcpStream::connect(self.http.as_ref().expect("http endpoint")).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        (head.lines().next().unwrap_or("").to_string(), body.to_string())
    }

    /// The value of the Prometheus sample `name` (with its labels), once it equals `want`
    /// (metrics of a query's end arrive just after its last batch).
    fn metric_becomes(&self, name: &str, want: f64) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = self.http_get("/metrics");
            let value = body
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<f64>().ok()))
                .unwrap_or(0.0);
            if value == want || Instant::now() > deadline {
                return value;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM (Unix) and waits for the exit.
    fn stop(&mut self) -> std::process::ExitStatus {
        #[cfg(unix)]
        {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            // Longer than any shutdown_grace the tests set, so a slow machine is not a failure.
            let deadline = Instant::now() + Duration::from_secs(150);
            while Instant::now() < deadline {
                if let Some(status) = self.child.try_wait().unwrap() {
                    return status;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.child.kill().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Runs `sql` through GetFlightInfo and DoGet.
async fn query(client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> Result<Vec<RecordBatch>, FlightError> {
    let info = client.execute(sql.to_string(), None).await?;
    let mut batches = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.expect("a ticket");
        batches.extend(client.do_get(ticket).await?.try_collect::<Vec<_>>().await?);
    }
    Ok(batches)
}

/// The rows of `batches` as strings, the way `--output csv` prints them.
fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            out.push(batch.columns().iter().map(|c| array_value_to_string(c, row).unwrap()).collect());
        }
    }
    out
}

/// The gRPC code of a failed call.
fn code<T: std::fmt::Debug>(result: Result<T, FlightError>) -> (Code, String) {
    match result {
        Err(FlightError::Tonic(status)) => (status.code(), status.message().to_string()),
        other => panic!("expected a gRPC error, got {other:?}"),
    }
}

const STATUS_SQL: &str = "SELECT status, count(*) AS n FROM access GROUP BY status ORDER BY status";

#[test]
fn bearer_tokens_and_passwords_query_the_same_tables_as_logfusion_query() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), "");
    let config = tmp.path().join("config.yaml");
    let config = config.to_str().unwrap();
    let want = query_csv(tmp.path(), &["--config", config], STATUS_SQL);
    let want_rejects = query_csv(tmp.path(), &["--config", config], "SELECT count(*) FROM access_rejects");
    let want_syslog = query_csv(tmp.path(), &["--config", config], "SELECT count(*) FROM syslog");
    assert!(want.len() > 2, "{want:?}");
    runtime().block_on(async {
        let mut client = server.client(Some(READ_ALL)).await;
        assert_eq!(rows(&query(&mut client, STATUS_SQL).await.unwrap()), want);
        assert_eq!(rows(&query(&mut client, "SELECT count(*) FROM access_rejects").await.unwrap()), want_rejects);
        assert_eq!(rows(&query(&mut client, "SELECT count(*) FROM syslog").await.unwrap()), want_syslog);

        // Username and password through the handshake, which hands back a bearer token.
        let mut client = server.client(None).await;
        client.handshake(USER.0, USER.1).await.expect("handshake");
        assert!(client.token().is_some_and(|t| t.starts_with("lf_")));
        assert_eq!(rows(&query(&mut client, STATUS_SQL).await.unwrap()), want);

        // Prepared statements run the same query.
        let mut client = server.client(Some(READ_ALL)).await;
        let mut prepared = client.prepare(STATUS_SQL.to_string(), None).await.expect("prepare");
        assert_eq!(prepared.dataset_schema().unwrap().field(1).name(), "n");
        let info = prepared.execute().await.expect("execute prepared");
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        let batches: Vec<_> = client.do_get(ticket).await.unwrap().try_collect().await.unwrap();
        assert_eq!(rows(&batches), want);
        prepared.close().await.expect("close");
    });
}

#[test]
fn credentials_and_source_lists_are_enforced() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), "  http: 127.0.0.1:0\n");
    runtime().block_on(async {
        let mut none = server.client(None).await;
        let (c, message) = code(query(&mut none, "SELECT 1").await);
        assert_eq!(c, Code::Unauthenticated, "{message}");
        let mut wrong = server.client(Some("lf_not_a_token")).await;
        assert_eq!(code(query(&mut wrong, "SELECT 1").await).0, Code::Unauthenticated);
        let mut bad_password = server.client(None).await;
        // (The client's handshake error keeps the message, not the code.)
        let err = bad_password.handshake(USER.0, "wrong").await.unwrap_err().to_string();
        assert!(err.contains("invalid credentials"), "{err}");
        let err = bad_password.handshake("mallory", USER.1).await.unwrap_err().to_string();
        assert!(err.contains("invalid credentials"), "{err}");

        let mut web = server.client(Some(ACCESS_ONLY)).await;
        assert!(!rows(&query(&mut web, "SELECT count(*) FROM access").await.unwrap()).is_empty());
        for table in ["syslog", "syslog_rejects", "json_profile"] {
            let (c, message) = code(query(&mut web, &format!("SELECT * FROM {table}")).await);
            assert_eq!(c, Code::PermissionDenied, "{table}: {message}");
            assert!(message.contains(table), "{message}");
        }
        // A join reaching a forbidden table is refused as a whole.
        let (c, _) = code(query(&mut web, "SELECT count(*) FROM access JOIN logfmt ON true").await);
        assert_eq!(c, Code::PermissionDenied);
        // The catalog lists only what the caller may read.
        let tables =
            |batches: Vec<RecordBatch>| -> Vec<String> { rows(&batches).into_iter().map(|r| r[2].clone()).collect() };
        let info = web.get_tables(CommandGetTables::default()).await.unwrap();
        let listed =
            tables(web.do_get(info.endpoint[0].ticket.clone().unwrap()).await.unwrap().try_collect().await.unwrap());
        let mut listed = listed;
        listed.sort();
        assert_eq!(listed, ["access", "access_profile", "access_rejects"]);
        let mut all = server.client(Some(READ_ALL)).await;
        let info = all.get_tables(CommandGetTables { include_schema: true, ..Default::default() }).await.unwrap();
        let listed =
            tables(all.do_get(info.endpoint[0].ticket.clone().unwrap()).await.unwrap().try_collect().await.unwrap());
        for name in ["access", "syslog", "json", "logfmt", "app", "app_rejects", "syslog_profile"] {
            assert!(listed.iter().any(|t| t == name), "{name} not in {listed:?}");
        }
        let info = all.execute("SELECT table_name FROM information_schema.tables".into(), None).await.unwrap();
        assert!(!info.endpoint.is_empty());
    });
    assert_eq!(server.metric_becomes("logfusion_auth_failures_total", 4.0), 4.0);
    let log = std::fs::read_to_string(tmp.path().join("system.log")).unwrap();
    assert!(
        log.contains("logfusion::audit") && log.contains("principal=web") && log.contains("outcome=\"denied\""),
        "{log}"
    );
    for secret in [READ_ALL, ACCESS_ONLY, USER.1] {
        assert!(!log.contains(secret) && !server.stderr().contains(secret), "a secret in the logs");
    }
}

#[test]
fn only_reads_of_configured_sources_are_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), "");
    let outside = tmp.path().join("outside.csv");
    std::fs::write(&outside, "a\n1\n").unwrap();
    let outside = outside.display();
    runtime().block_on(async {
        let mut client = server.client(Some(ADMIN)).await;
        for sql in [
            "CREATE TABLE t AS SELECT 1".to_string(),
            "CREATE VIEW v AS SELECT * FROM access".to_string(),
            "INSERT INTO access SELECT * FROM access".to_string(),
            "DELETE FROM access".to_string(),
            "DROP TABLE access".to_string(),
            format!("COPY (SELECT 1) TO '{outside}.out' STORED AS CSV"),
            "SET datafusion.execution.batch_size = 1".to_string(),
            format!("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{outside}'"),
            format!("SELECT * FROM '{outside}'"),
            "SELECT * FROM 's3://bucket/key.parquet'".to_string(),
            "SELECT * FROM nosuchtable".to_string(),
            "EXPLAIN COPY access TO '/tmp/x' STORED AS CSV".to_string(),
        ] {
            let (c, message) = code(query(&mut client, &sql).await);
            assert_eq!(c, Code::PermissionDenied, "{sql}: {message}");
        }
        let (c, message) = code(query(&mut client, "SELECT 1; SELECT 2").await);
        assert_eq!(c, Code::InvalidArgument, "{message}");
        assert!(!tmp.path().join("outside.csv.out").exists());
        // EXPLAIN and SHOW are reads.
        assert!(!rows(&query(&mut client, "EXPLAIN SELECT count(*) FROM access").await.unwrap()).is_empty());
        assert!(!rows(&query(&mut client, "SHOW TABLES").await.unwrap()).is_empty());
    });
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`.
struct TestPki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

fn make_pki(dir: &Path) -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "logfusion test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);
    let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose, cn: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        (params.signed_by(&key, &issuer).unwrap().pem(), key.serialize_pem())
    };
    let (server_pem, server_key) = leaf(
        vec!["localhost".into(), "127.0.0.1".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
        "logfusion test server",
    );
    let (client_pem, client_key) = leaf(vec![], ExtendedKeyUsagePurpose::ClientAuth, "logfusion test client");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    TestPki {
        ca: write("ca.pem", &ca_cert.pem()),
        server_cert: write("server.pem", &server_pem),
        server_key: write("server.key", &server_key),
        client_cert: write("client.pem", &client_pem),
        client_key: write("client.key", &client_key),
    }
}

impl TestPki {
    fn yaml(&self, mutual: bool) -> String {
        let ca = if mutual { format!(", client_ca: {}", self.ca.display()) } else { String::new() };
        format!("  tls: {{ cert: {}, key: {}{ca} }}\n", self.server_cert.display(), self.server_key.display())
    }
}

async fn tls_client(addr: &str, pki: &TestPki, with_cert: bool) -> Result<FlightSqlServiceClient<Channel>, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&pki.ca).unwrap()))
        .domain_name("localhost");
    if with_cert {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(&pki.client_cert).unwrap(),
            std::fs::read(&pki.client_key).unwrap(),
        ));
    }
    let channel = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let mut client = FlightSqlServiceClient::new(channel);
    client.set_token(READ_ALL.to_string());
    Ok(client)
}

#[test]
fn tls_and_mutual_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = make_pki(tmp.path());
    let one = tmp.path().join("tls");
    let two = tmp.path().join("mtls");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    let tls = Server::start(&one, &pki.yaml(false));
    let mtls = Server::start(&two, &pki.yaml(true));
    runtime().block_on(async {
        let mut client = tls_client(&tls.addr, &pki, false).await.expect("TLS connects");
        assert!(!rows(&query(&mut client, STATUS_SQL).await.unwrap()).is_empty());
        // A plain-text client gets nothing from a TLS endpoint.
        let mut plain = tls.client(Some(READ_ALL)).await;
        assert!(query(&mut plain, "SELECT 1").await.is_err());

        let mut with_cert = tls_client(&mtls.addr, &pki, true).await.expect("mutual TLS connects");
        assert!(!rows(&query(&mut with_cert, STATUS_SQL).await.unwrap()).is_empty());
        // Without a client certificate the handshake or the first call fails.
        match tls_client(&mtls.addr, &pki, false).await {
            Err(_) => {}
            Ok(mut client) => {
                assert!(query(&mut client, "SELECT 1").await.is_err(), "served without a client certificate")
            }
        }
    });
}

#[test]
fn refuses_to_listen_in_the_open_without_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let config = sample_config(tmp.path());
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("\nnetwork:\n{}", auth_yaml()));
    std::fs::write(&config, &text).unwrap();
    let out = logfusion(tmp.path())
        .args(["serve", "--config", config.to_str().unwrap(), "--bind", "0.0.0.0:0"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("refusing to listen on 0.0.0.0:0 without TLS"), "{err}");

    // No credentials at all is refused too: nobody could use it.
    let bare = tmp.path().join("bare.yaml");
    std::fs::write(&bare, text.split("\nnetwork:").next().unwrap()).unwrap();
    let out = logfusion(tmp.path()).args(["serve", "--config", bare.to_str().unwrap()]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no credentials"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // allow_insecure: it starts, and says loudly what it does.
    let dir = tmp.path().join("open");
    std::fs::create_dir(&dir).unwrap();
    let mut server = Server::start_with(&dir, "  allow_insecure: true\n", &["--bind", "0.0.0.0:0"]);
    assert!(server.stderr().contains("INSECURE"), "{}", server.stderr());
    assert!(server.stop().success());
}

/// Millions of one-row iterations: seconds of work in little memory.
const SLOW_SQL: &str =
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 100000000) SELECT count(*) FROM t";

#[test]
fn over_limit_queries_fail_cleanly_and_the_server_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        tmp.path(),
        "  limits: { max_concurrent_queries: 2, query_timeout: 2s, query_memory: 64MiB, max_result_rows: 50 }\n  http: 127.0.0.1:0\n",
    );
    runtime().block_on(async {
        let mut client = server.client(Some(READ_ALL)).await;
        let (c, message) = code(query(&mut client, "SELECT * FROM access").await);
        assert_eq!(c, Code::ResourceExhausted, "{message}");
        assert!(message.contains("max_result_rows (50)"), "{message}");

        let started = Instant::now();
        let (c, message) = code(query(&mut client, SLOW_SQL).await);
        assert_eq!(c, Code::DeadlineExceeded, "{message}");
        assert!(message.contains("query_timeout"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());

        // ~100 MB for one aggregate against a 64 MiB pool per query.
        let big = "SELECT length(array_to_string(array_agg(repeat(path, 100000)), ',')) FROM access";
        let (c, message) = code(query(&mut client, big).await);
        assert_eq!(c, Code::ResourceExhausted, "{message}");
        assert!(message.contains("Failed to allocate"), "{message}");

        assert!(!rows(&query(&mut client, STATUS_SQL).await.unwrap()).is_empty());
    });
    assert_eq!(server.metric_becomes("logfusion_active_queries", 0.0), 0.0);
    let (_, metrics) = server.http_get("/metrics");
    for outcome in ["too_many_rows", "timeout", "memory", "ok"] {
        assert!(metrics.contains(&format!("logfusion_queries_total{{outcome=\"{outcome}\"}}")), "{outcome}: {metrics}");
    }
    assert!(metrics.contains("logfusion_query_seconds_bucket"), "{metrics}");
}

#[test]
fn extra_queries_wait_for_a_slot_and_a_client_that_leaves_frees_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        tmp.path(),
        "  limits: { max_concurrent_queries: 1, queue_wait: 1s, query_timeout: 300s }\n  http: 127.0.0.1:0\n",
    );
    runtime().block_on(async {
        // The one slot taken by a query that would run for minutes.
        let mut holder = server.client(Some(READ_ALL)).await;
        let holding = tokio::spawn(async move { query(&mut holder, SLOW_SQL).await.map(|_| ()) });
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.metric_becomes("logfusion_active_queries", 1.0) != 1.0 {
            assert!(Instant::now() < deadline, "the slow query never started");
        }
        let mut other = server.client(Some(READ_ALL)).await;
        let waited = Instant::now();
        let (c, message) = code(query(&mut other, "SELECT 1").await);
        assert_eq!(c, Code::ResourceExhausted, "{message}");
        assert!(message.contains("busy") && waited.elapsed() >= Duration::from_millis(900), "{message}");
        // The holder goes away (its connection closes): its query is cancelled, the slot freed
        // long before its 300 s timeout.
        holding.abort();
        assert!(holding.await.is_err_and(|e| e.is_cancelled()));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match query(&mut other, "SELECT 1").await {
                Ok(batches) => break assert_eq!(rows(&batches), [["1"]]),
                Err(e) if Instant::now() > deadline => panic!("the slot was not freed: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    assert_eq!(server.metric_becomes("logfusion_active_queries", 0.0), 0.0);
    assert_eq!(server.metric_becomes("logfusion_queries_total{outcome=\"cancelled\"}", 1.0), 1.0);
    assert!(server.metric_becomes("logfusion_queries_total{outcome=\"busy\"}", 1.0) >= 1.0);
}

#[test]
fn hostile_requests_leave_the_server_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("big");
    std::fs::create_dir(&logs).unwrap();
    logfusion(tmp.path())
        .args(["gen", "--format", "access", "--size", "8MiB", "--out"])
        .arg(logs.join("access.log"))
        .assert()
        .success();
    let server = Server::start_with(tmp.path(), "  http: 127.0.0.1:0\n", &["--log-dir", logs.to_str().unwrap()]);
    let addr = server.addr.clone();
    // Connections that never send anything, and ones that send garbage or HTTP/1.
    let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    for junk in [&b"\x00\xff\x16\x03\x01garbage\r\n\r\n"[..], b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &[0u8; 70_000]] {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(junk);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    runtime().block_on(async {
        let mut client = server.client(Some(READ_ALL)).await;
        // Malformed Flight requests: garbage tickets, commands and actions.
        let inner = client.inner_mut();
        let mut request = tonic::Request::new(Ticket::new(b"\x0a\x03xyz-not-protobuf".to_vec()));
        request.metadata_mut().insert("authorization", format!("Bearer {READ_ALL}").parse().unwrap());
        assert!(inner.do_get(request).await.is_err());
        let mut request = tonic::Request::new(FlightDescriptor::new_cmd(vec![0xff; 100]));
        request.metadata_mut().insert("authorization", format!("Bearer {READ_ALL}").parse().unwrap());
        assert!(inner.get_flight_info(request).await.is_err());
        let mut request = tonic::Request::new(Action::new("CreatePreparedStatement", vec![0x12, 0xff, 0x01]));
        request.metadata_mut().insert("authorization", format!("Bearer {READ_ALL}").parse().unwrap());
        assert!(inner.do_action(request).await.is_err());
        // A ticket naming another command (a statement handle that is not UTF-8).
        let ticket = arrow_flight::sql::TicketStatementQuery { statement_handle: vec![0xff, 0xfe].into() };
        let ticket = Ticket::new(ticket.as_any().encode_to_vec());
        assert!(client.do_get(ticket).await.is_err());

        // A 10 MB SQL string is refused whole (the request limit is 4 MiB); statements nested
        // too deep for DataFusion are refused before planning.
        let huge = format!("SELECT 1 -- {}", "x".repeat(10 << 20));
        let (c, message) = code(query(&mut client, &huge).await);
        assert_eq!(c, Code::OutOfRange, "{message}");
        let deep = format!("SELECT {}1", "1 + ".repeat(900_000));
        let (c, message) = code(query(&mut client, &deep).await);
        assert!(c == Code::InvalidArgument && message.contains("nests"), "{message}");
        let ors = format!("SELECT count(*) FROM access WHERE {}", vec!["status = 1"; 5000].join(" OR "));
        let (c, message) = code(query(&mut client, &ors).await);
        assert!(c == Code::InvalidArgument && message.contains("nests"), "{message}");
        let nested = format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(code(query(&mut client, &nested).await).0, Code::InvalidArgument, "100,000 nested parentheses");
        // Up to the limit, a long chain runs.
        let ors = format!("SELECT count(*) FROM access WHERE {}", vec!["status = 1"; 900].join(" OR "));
        assert_eq!(rows(&query(&mut client, &ors).await.unwrap()), [["0"]]);

        // A client that disconnects mid-stream: its query is cancelled, its slot freed.
        let info = client.execute("SELECT * FROM access".into(), None).await.unwrap();
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        let mut stream = client.do_get(ticket).await.unwrap();
        assert!(stream.try_next().await.unwrap().is_some_and(|b| b.num_rows() > 0));
        drop(stream);
        drop(client);

        let mut client = server.client(Some(READ_ALL)).await;
        let n = rows(&query(&mut client, "SELECT count(*) FROM access").await.unwrap());
        assert!(n[0][0].parse::<u64>().unwrap() > 10_000, "{n:?}");
    });
    drop(idle);
    assert_eq!(server.metric_becomes("logfusion_active_queries", 0.0), 0.0);
    assert!(server.metric_becomes("logfusion_queries_total{outcome=\"cancelled\"}", 1.0) >= 1.0);
    let (status, body) = server.http_get("/healthz");
    assert!(status.contains("200") && body == "ok\n", "{status} {body}");
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

#[test]
fn admins_reload_the_config_and_sigterm_stops_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path(), "");
    let later = "lf_test_added_later_0123456789abcdefghijklmnopqrstuv";
    runtime().block_on(async {
        let reload = || Action::new(logfusion_server::RELOAD_ACTION, Vec::new());
        let mut reader = server.client(Some(READ_ALL)).await;
        let (c, _) = code(reader.do_action(reload()).await.map(|_| ()));
        assert_eq!(c, Code::PermissionDenied);

        let mut added = server.client(Some(later)).await;
        assert_eq!(code(query(&mut added, "SELECT 1").await).0, Code::Unauthenticated);
        let config = tmp.path().join("config.yaml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        // The active network section is the last one (config.yaml has a commented example).
        let users = text.rfind("\n    users:\n").unwrap();
        text.insert_str(
            users + 1,
            &format!("      - {{ name: later, token_sha256: \"{}\", role: read }}\n", sha256_hex(later)),
        );
        std::fs::write(&config, text).unwrap();
        let mut admin = server.client(Some(ADMIN)).await;
        let results: Vec<_> = admin.do_action(reload()).await.expect("reload").try_collect().await.unwrap();
        assert!(String::from_utf8_lossy(&results[0].body).contains("tables"), "{results:?}");
        assert_eq!(rows(&query(&mut added, "SELECT 1").await.unwrap()), [["1"]]);
    });
    let status = server.stop();
    assert!(status.success(), "{status:?}: {}", server.stderr());
    let said: Vec<String> = server.stdout.try_iter().collect();
    assert!(said.iter().any(|l| l.contains("stopped")), "{said:?}");
}

/// A query of a few seconds (2.6 s alone in a debug build; on a loaded machine, more).
const SECONDS_SQL: &str =
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 30000) SELECT count(*) FROM t";

/// Starts a server with `shutdown_grace: grace`, starts `sql` on it, sends SIGTERM once the
/// query runs. Returns the server's exit status and stderr, how long it took to stop and the
/// query's answer.
type Stopped = (std::process::ExitStatus, String, Duration, Result<Vec<Vec<String>>, FlightError>);
fn sigterm_during(grace: &str, sql: &'static str) -> Stopped {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path(), &format!("  http: 127.0.0.1:0\n  shutdown_grace: {grace}\n"));
    let runtime = runtime();
    let mut client = runtime.block_on(server.client(Some(READ_ALL)));
    let running = runtime.spawn(async move { query(&mut client, sql).await.map(|b| rows(&b)) });
    assert_eq!(server.metric_becomes("logfusion_active_queries", 1.0), 1.0, "the query never started");
    let stopping = Instant::now();
    let status = server.stop();
    let took = stopping.elapsed();
    let answer = runtime.block_on(running).unwrap();
    (status, server.stderr(), took, answer)
}

#[test]
fn sigterm_lets_a_running_query_finish() {
    let (status, stderr, _, answer) = sigterm_during("2m", SECONDS_SQL);
    assert_eq!(answer.expect("the running query finishes"), [["30000"]]);
    assert!(status.success(), "{status:?}: {stderr}");
}

#[test]
fn after_the_shutdown_grace_running_queries_are_cancelled() {
    let (status, stderr, took, answer) = sigterm_during("1s", SLOW_SQL);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(took < Duration::from_secs(60), "the server took {took:?} to stop with a 1 s grace");
    assert!(answer.is_err(), "a query cut off by the shutdown has no answer: {answer:?}");
    assert!(stderr.contains("cancelled"), "{stderr}");
}

/// ADBC's Flight SQL driver and pyarrow.flight against a plain, a TLS and a mutual-TLS server
/// (`tests/interop/flight_sql.py`). Needs Python with `adbc-driver-flightsql` and `pyarrow`
/// (`LOGFUSION_PYTHON`); skipped without them unless `LOGFUSION_REQUIRE_INTEROP` is set.
#[test]
fn python_clients() {
    let python = std::env::var("LOGFUSION_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe =
        std::process::Command::new(&python).args(["-c", "import adbc_driver_flightsql.dbapi, pyarrow.flight"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("LOGFUSION_REQUIRE_INTEROP").is_none(),
            "LOGFUSION_REQUIRE_INTEROP is set but {python} lacks adbc-driver-flightsql/pyarrow"
        );
        eprintln!("skipping: {python} has no adbc-driver-flightsql/pyarrow (set LOGFUSION_PYTHON)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pki = make_pki(tmp.path());
    let dirs: Vec<PathBuf> = ["plain", "tls", "mtls"].iter().map(|d| tmp.path().join(d)).collect();
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap();
    }
    let plain = Server::start(&dirs[0], "");
    let tls = Server::start(&dirs[1], &pki.yaml(false));
    let mtls = Server::start(&dirs[2], &pki.yaml(true));
    let config = dirs[0].join("config.yaml");
    let expected = query_csv(&dirs[0], &["--config", config.to_str().unwrap()], STATUS_SQL);
    let spec = serde_json::json!({
        "plain": plain.addr, "tls": tls.addr, "mtls": mtls.addr,
        "ca": pki.ca, "client_cert": pki.client_cert, "client_key": pki.client_key,
        "token": READ_ALL, "access_only": ACCESS_ONLY, "user": USER.0, "password": USER.1,
        "sql": STATUS_SQL, "expected": expected,
    });
    let script = crate::common::repo().join("tests/interop/flight_sql.py");
    let out = std::process::Command::new(&python).arg(script).arg(spec.to_string()).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("all checks passed"), "{said}");
}
