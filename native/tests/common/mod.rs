//! Helpers for the native command-line and server tests: run the `workgate` binary with a
//! temporary home, start `workgate serve --port 0`, and talk HTTP to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_workgate");

/// A fresh data directory, removed on drop.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.path().join("workgate.db")
    }

    /// `workgate --home HOME ARGS...` with a clean environment and cheap password hashing.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--home").arg(self.path()).args(args);
        for (name, _) in std::env::vars() {
            if name.starts_with("ARGILLA_") || name.starts_with("WORKGATE_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("WORKGATE_PASSWORD_COST", "m=64,t=1,p=1")
            .env_remove("RUST_LOG")
            .current_dir(self.path())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a task to completion.
    pub fn run(&self, args: &[&str]) -> Outcome {
        Outcome::from(self.command(args).output().expect("run workgate"))
    }

    /// Starts `workgate serve --port 0` and waits for its listening line.
    pub fn serve(&self) -> Served {
        self.serve_with(&[])
    }

    pub fn serve_with(&self, env: &[(&str, &str)]) -> Served {
        let mut cmd = self.command(&["serve", "--port", "0"]);
        cmd.envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Served::start(cmd)
    }
}

/// What a finished command printed and how it exited.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Outcome {
    fn from(o: Output) -> Self {
        Outcome {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A running server.
pub struct Served {
    pub child: Child,
    pub base_url: String,
    /// The rest of stdout and all of stderr, collected by background threads.
    stdout_rest: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Served {
    pub fn start(mut cmd: Command) -> Served {
        let mut child = cmd.spawn().expect("start workgate serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (line_tx, line_rx) = std::sync::mpsc::channel();
        let (rest_tx, rest_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = line_tx.send(first);
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
            let _ = rest_tx.send(rest);
        });
        let (err_tx, err_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut all = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut all);
            let _ = err_tx.send(all);
        });
        let first = match line_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.is_empty() => line,
            _ => {
                let _ = child.kill();
                let stderr = err_rx
                    .recv_timeout(Duration::from_secs(5))
                    .unwrap_or_default();
                panic!("workgate serve printed no listening line; stderr:\n{stderr}");
            }
        };
        let base_url = first
            .trim_end()
            .strip_prefix("workgate listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
        Served {
            child,
            base_url,
            stdout_rest: rest_rx,
            stderr: err_rx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child; no memory is involved.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Sends SIGTERM and waits; returns (exit code, rest of stdout, stderr).
    pub fn stop(mut self) -> (Option<i32>, String, String) {
        self.signal(libc::SIGTERM);
        let status = wait_timeout(&mut self.child, Duration::from_secs(20));
        let rest = self
            .stdout_rest
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (status, rest, stderr)
    }

    /// SIGKILL, no goodbye.
    pub fn kill(mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not stop within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An HTTP client that does not treat 4xx/5xx as errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A response reduced to what tests look at.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = result.expect("HTTP request");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

pub fn get(url: &str, api_key: Option<&str>) -> Answer {
    let mut request = agent().get(url);
    if let Some(key) = api_key {
        request = request.header("X-Argilla-Api-Key", key);
    }
    answer(request.call())
}

pub fn post_json(url: &str, api_key: &str, body: &serde_json::Value) -> Answer {
    answer(
        agent()
            .post(url)
            .header("X-Argilla-Api-Key", api_key)
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    )
}

pub fn login(url: &str, username: &str, password: &str) -> Answer {
    answer(
        agent()
            .post(url)
            .send_form([("username", username), ("password", password)]),
    )
}
