//! The local Starknet node: finding it, starting it, and its predeployed account.
//!
//! With no `--rpc`, Cairn talks to a starknet-devnet on `127.0.0.1:$CAIRN_DEVNET_PORT` (5050).
//! If none answers, it starts one in the background (detached, so it outlives the command) with
//! a fixed seed and a state file under `$CAIRN_HOME/devnet/` (default `~/.cairn/devnet/`) that
//! it replays at start: a `cairn submit` finds what an earlier `cairn deploy` left, even after
//! the node was stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use starknet::core::types::Felt;
use url::Url;

use crate::ChainError;

/// Port of the Cairn-managed node, unless `CAIRN_DEVNET_PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 5050;
/// Seed of the predeployed accounts: the same account on every machine.
pub const SEED: u32 = 0;
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The URL of the Cairn-managed local node.
pub fn local_url() -> Url {
    let port = std::env::var("CAIRN_DEVNET_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(DEFAULT_PORT);
    Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a valid URL")
}

/// Cairn's state folder: `$CAIRN_HOME`, else `~/.cairn`.
pub fn cairn_home() -> PathBuf {
    if let Some(h) = std::env::var_os("CAIRN_HOME") {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cairn")
}

/// The node binary: `$CAIRN_DEVNET_BIN`, else `cairn-devnet` beside the running executable (or
/// its parent folder, for test binaries in `target/*/deps`), else `starknet-devnet` on PATH.
pub fn devnet_binary() -> Result<PathBuf, ChainError> {
    if let Some(p) = std::env::var_os("CAIRN_DEVNET_BIN") {
        return Ok(PathBuf::from(p));
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join("cairn-devnet");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("starknet-devnet"))
            .find(|p| p.is_file())
    });
    on_path.ok_or(ChainError::NoDevnet)
}

/// Whether a node answers at `url`.
pub async fn is_alive(url: &Url) -> bool {
    let Ok(probe) = url.join("is_alive") else {
        return false;
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build();
    match client {
        Ok(c) => matches!(c.get(probe).send().await, Ok(r) if r.status().is_success()),
        Err(_) => false,
    }
}

async fn wait_alive(url: &Url, child: &mut Child) -> Result<(), ChainError> {
    let start = Instant::now();
    while start.elapsed() < START_TIMEOUT {
        if is_alive(url).await {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(ChainError::DevnetStart(format!(
                "the node exited at start ({status})"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(ChainError::DevnetStart(format!(
        "no answer at {url} after {}s",
        START_TIMEOUT.as_secs()
    )))
}

fn devnet_command(binary: &Path, port: u16, state: Option<&Path>) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args(["--port", &port.to_string(), "--seed", &SEED.to_string()])
        .args(["--accounts", "1"]);
    if let Some(state) = state {
        cmd.args(["--dump-on", "block", "--dump-path"]).arg(state);
    }
    cmd
}

/// Makes sure the Cairn-managed node runs; returns its URL and whether it was started now.
pub async fn ensure_local() -> Result<(Url, bool), ChainError> {
    let url = local_url();
    if is_alive(&url).await {
        return Ok((url, false));
    }
    let dir = cairn_home().join("devnet");
    std::fs::create_dir_all(&dir).map_err(|e| ChainError::DevnetStart(e.to_string()))?;
    let log = std::fs::File::create(dir.join("devnet.log"))
        .map_err(|e| ChainError::DevnetStart(e.to_string()))?;
    let log2 = log
        .try_clone()
        .map_err(|e| ChainError::DevnetStart(e.to_string()))?;
    let port = url.port().unwrap_or(DEFAULT_PORT);
    let mut cmd = devnet_command(&devnet_binary()?, port, Some(&dir.join("state.json")));
    cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
    // Its own process group: a Ctrl-C in the user's shell must not stop the node.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .map_err(|e| ChainError::DevnetStart(e.to_string()))?;
    // For `kill $(cat ~/.cairn/devnet/pid)`.
    let _ = std::fs::write(dir.join("pid"), child.id().to_string());
    wait_alive(&url, &mut child).await.map_err(|e| {
        let why = match e {
            ChainError::DevnetStart(m) => m,
            other => other.to_string(),
        };
        ChainError::DevnetStart(format!(
            "{why} (its log: {}; is port {port} taken by another program? set CAIRN_DEVNET_PORT)",
            dir.join("devnet.log").display()
        ))
    })?;
    Ok((url, true))
}

/// A node owned by the caller (tests): on a free port, no state file, stopped on drop.
pub struct DevnetProcess {
    child: Child,
    pub url: Url,
}

impl DevnetProcess {
    pub async fn start() -> Result<DevnetProcess, ChainError> {
        let port = free_port().map_err(|e| ChainError::DevnetStart(e.to_string()))?;
        let mut cmd = devnet_command(&devnet_binary()?, port, None);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| ChainError::DevnetStart(e.to_string()))?;
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a valid URL");
        if let Err(e) = wait_alive(&url, &mut child).await {
            let _ = child.kill();
            return Err(e);
        }
        Ok(DevnetProcess { child, url })
    }
}

impl Drop for DevnetProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The node's first predeployed account, if it is a devnet: `(address, private key)`.
pub async fn predeployed_account(url: &Url) -> Result<Option<(Felt, Felt)>, ChainError> {
    #[derive(serde::Deserialize)]
    struct Account {
        address: Felt,
        private_key: Felt,
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        result: Option<Vec<Account>>,
    }
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "devnet_getPredeployedAccounts", "params": {}
    });
    let reply = reqwest::Client::new()
        .post(url.clone())
        .json(&body)
        .send()
        .await
        .map_err(|e| ChainError::unreachable(url, e))?;
    let reply: Reply = reply
        .json()
        .await
        .map_err(|e| ChainError::Provider(format!("unexpected reply from {url}: {e}")))?;
    Ok(reply
        .result
        .and_then(|a| a.into_iter().next())
        .map(|a| (a.address, a.private_key)))
}
