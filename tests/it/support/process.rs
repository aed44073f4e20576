//! The real `memorid` binary as a child process, for tests that kill it.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tonic::transport::Channel;

pub struct ServerProcess {
    pub addr: SocketAddr,
    child: Child,
}

impl ServerProcess {
    /// Starts `memorid serve` with these `MEMORID_*` settings and waits
    /// until it reports SERVING.
    pub async fn start(env: &[(String, String)]) -> ServerProcess {
        ServerProcess::start_logging_to(env, None).await
    }

    /// Like `start`, with the process's standard output and error (its
    /// logs) written to `log`. `env` may set `RUST_LOG` (default `warn`).
    pub async fn start_logging_to(
        env: &[(String, String)],
        log: Option<&std::path::Path>,
    ) -> ServerProcess {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let (stdout, stderr) = match log {
            Some(path) => {
                let file = std::fs::File::create(path).unwrap();
                (Stdio::from(file.try_clone().unwrap()), Stdio::from(file))
            }
            None => (Stdio::inherit(), Stdio::inherit()),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_memorid"))
            .arg("serve")
            .env("MEMORID_SERVER__LISTEN", addr.to_string())
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("starting memorid");
        let mut process = ServerProcess { addr, child };
        process.wait_until_serving().await;
        process
    }

    /// The process id, for benchmarks that read its CPU time and memory.
    #[allow(dead_code)] // only benches/gateway reads it
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn wait_until_serving(&mut self) {
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        for _ in 0..600 {
            if let Ok(channel) = Channel::from_shared(format!("http://{}", self.addr))
                .unwrap()
                .connect()
                .await
                && let Ok(response) = HealthClient::new(channel)
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                && response.into_inner().status == 1
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("memorid exited while starting: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("memorid did not become SERVING");
    }

    /// SIGKILL: no shutdown, no draining, leases left behind.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
