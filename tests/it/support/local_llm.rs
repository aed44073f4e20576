//! A real local LLM: SmolLM2-135M-Instruct on CPU behind a small
//! OpenAI-compatible server (tests/llm/openai_server.mjs), installed by
//! `scripts/install-local-llm` on first use and stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct LocalLlm {
    pub port: u16,
    child: Child,
}

impl LocalLlm {
    pub fn start() -> LocalLlm {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let install = Command::new(root.join("scripts/install-local-llm"))
            .stderr(Stdio::inherit())
            .output()
            .expect("running scripts/install-local-llm");
        assert!(install.status.success(), "scripts/install-local-llm failed");
        let stdout = String::from_utf8(install.stdout).unwrap();
        let mut lines = stdout.lines();
        let (server, model) = (lines.next().unwrap(), lines.next().unwrap());
        let mut child = Command::new("node")
            .args([server, model, "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting node (is Node.js installed?)");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let port = first
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the local LLM server did not start: {first:?}"));
        LocalLlm { port, child }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}

impl Drop for LocalLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
