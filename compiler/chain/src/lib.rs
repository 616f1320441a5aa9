//! The chain stage: compiled contract classes and a network in, declared classes, deployed
//! contracts and checked claims out.
//!
//! [`client`] is an account on any Starknet JSON-RPC node (starknet-rs on tokio); [`devnet`]
//! finds or starts the local node used when no RPC URL is given and reads its predeployed
//! account. Nothing here knows about models: the CLI builds calldata from the manifest.
//!
//! Invariant: this is the only crate that talks to a Starknet node.

pub mod client;
pub mod devnet;

pub use client::{call, Chain, ClassToDeclare, Estimate, Signer, TxReport};
pub use starknet::core::types::{Call, Felt};
pub use starknet::core::utils::{get_selector_from_name, parse_cairo_short_string};
pub use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(
        "cannot reach a Starknet node at {url}: {message} (is the node running and the URL right?)"
    )]
    Unreachable { url: String, message: String },
    #[error("the chain rejected it: {0}")]
    Rejected(String),
    #[error("node error: {0}")]
    Provider(String),
    #[error("account: {0}")]
    Account(String),
    #[error("class: {0}")]
    Class(String),
    #[error(
        "no local Starknet node binary: build Cairn with scripts/setup.sh (it builds cairn-devnet), \
         set CAIRN_DEVNET_BIN, or pass --rpc URL"
    )]
    NoDevnet,
    #[error("could not start the local Starknet node: {0}")]
    DevnetStart(String),
    #[error("transaction {hash} has no receipt after {seconds}s")]
    Timeout { hash: String, seconds: u64 },
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl ChainError {
    pub fn unreachable(url: &Url, e: impl std::fmt::Display) -> ChainError {
        ChainError::Unreachable {
            url: url.to_string(),
            message: e.to_string(),
        }
    }
}
