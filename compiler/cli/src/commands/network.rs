//! Which node and which account the chain commands use, and the deployment record they share.

use anyhow::{bail, Context, Result};
use cairn_chain::{devnet, Chain, Felt, Signer, Url};
use serde::{Deserialize, Serialize};

use crate::artifacts::{Dir, DEPLOYMENT};

/// `--rpc`: `None` for the Cairn-managed local devnet.
#[derive(Debug, Clone, Default)]
pub struct NetworkArgs {
    pub rpc: Option<Url>,
}

/// Connects to the node and opens the account.
///
/// - No `--rpc`: the local devnet (started if needed) and its first predeployed account.
/// - `--rpc URL`: the account `STARKNET_ACCOUNT` with `STARKNET_PRIVATE_KEY`, or with
///   `STARKNET_KEYSTORE` (and `STARKNET_KEYSTORE_PASSWORD`). A devnet given by URL with none of
///   these set uses its predeployed account.
pub async fn connect(net: &NetworkArgs, quiet: bool) -> Result<(Chain, bool)> {
    let (url, local) = match &net.rpc {
        None => {
            let (url, started) = devnet::ensure_local().await?;
            if started && !quiet {
                eprintln!(
                    "started a local starknet-devnet at {url} (state in {})",
                    devnet::cairn_home().join("devnet").display()
                );
            }
            (url, true)
        }
        Some(url) => (url.clone(), false),
    };
    let (address, signer) = account(&url, local).await?;
    let chain = Chain::connect(url, address, signer).await?;
    Ok((chain, local))
}

async fn account(url: &Url, local: bool) -> Result<(Felt, Signer)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if !local {
        if let Some(address) = env("STARKNET_ACCOUNT") {
            let address = Felt::from_hex(address.trim())
                .map_err(|_| anyhow::anyhow!("STARKNET_ACCOUNT is not a hex address"))?;
            if let Some(key) = env("STARKNET_PRIVATE_KEY") {
                // The key's text is never echoed, even when malformed.
                let key = Felt::from_hex(key.trim())
                    .map_err(|_| anyhow::anyhow!("STARKNET_PRIVATE_KEY is not a hex felt"))?;
                return Ok((address, Signer::Key(key)));
            }
            if let Some(path) = env("STARKNET_KEYSTORE") {
                let password = env("STARKNET_KEYSTORE_PASSWORD").unwrap_or_default();
                return Ok((
                    address,
                    Signer::Keystore {
                        path: path.into(),
                        password,
                    },
                ));
            }
            bail!(
                "STARKNET_ACCOUNT is set but neither STARKNET_PRIVATE_KEY nor STARKNET_KEYSTORE is"
            );
        }
    }
    match devnet::predeployed_account(url).await {
        Ok(Some((address, key))) => Ok((address, Signer::Key(key))),
        Ok(None) | Err(cairn_chain::ChainError::Provider(_)) => bail!(
            "no account for {url}: set STARKNET_ACCOUNT and STARKNET_PRIVATE_KEY (or \
             STARKNET_KEYSTORE and STARKNET_KEYSTORE_PASSWORD)"
        ),
        Err(e) => Err(e.into()),
    }
}

/// A class as declared: sizes are what public networks cap.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassRecord {
    pub name: String,
    pub class_hash: String,
    pub compiled_class_hash: String,
    pub sierra_felts: usize,
    pub casm_felts: usize,
    pub class_bytes: usize,
}

/// How `submit` checks a claim: stage groups, one transaction each.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TxPlan {
    /// `true`: one `verify_and_register` transaction; else `begin`, one `advance` per group,
    /// `finish`.
    pub single: bool,
    /// `(first stage, count)` per `advance` transaction.
    pub groups: Vec<(u32, u32)>,
    /// Calldata felts of each claim transaction, in order (at most 5,000 on public networks).
    pub calldata: Vec<usize>,
    /// Estimated Cairo steps of each claim transaction, in order.
    pub steps: Vec<u64>,
}

/// One sent transaction, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxRecord {
    pub what: String,
    pub hash: String,
    pub l2_gas: u64,
    pub fee_fri: String,
    pub calldata_felts: usize,
}

impl From<&cairn_chain::TxReport> for TxRecord {
    fn from(t: &cairn_chain::TxReport) -> Self {
        TxRecord {
            what: t.what.clone(),
            hash: format!("{:#x}", t.hash),
            l2_gas: t.l2_gas,
            fee_fri: t.fee.to_string(),
            calldata_felts: t.calldata_felts,
        }
    }
}

/// `DIR/deployment.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    /// The node's URL; `local: true` for the Cairn-managed devnet.
    pub rpc: String,
    pub local: bool,
    pub chain_id: String,
    pub account: String,
    pub program_hash: String,
    pub weights_commitment: String,
    pub registry: String,
    pub verifier: String,
    pub consumer: String,
    pub classes: Vec<ClassRecord>,
    pub stage_classes: Vec<String>,
    pub plan: TxPlan,
    pub transactions: Vec<TxRecord>,
}

impl Deployment {
    pub fn read(dir: &Dir) -> Result<Deployment> {
        dir.read_json(DEPLOYMENT, "run `cairn deploy DIR` first")
    }

    /// The network `submit` and `facts` use: `--rpc` if given, else where it was deployed.
    pub fn network(&self, net: &NetworkArgs) -> Result<NetworkArgs> {
        if net.rpc.is_some() || self.local {
            return Ok(net.clone());
        }
        let url = Url::parse(&self.rpc).with_context(|| format!("bad rpc URL '{}'", self.rpc))?;
        Ok(NetworkArgs { rpc: Some(url) })
    }
}

pub fn felt_hex(s: &str, what: &str) -> Result<Felt> {
    Felt::from_hex(s).map_err(|_| anyhow::anyhow!("{what} '{s}' is not a hex felt"))
}

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
