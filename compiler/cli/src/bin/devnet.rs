//! `cairn-devnet`: a local Starknet node, starknet-devnet 0.10.1 built from its crates.
//!
//! Building it here shares the cairo-lang 2.19.4 build with Cairn (a separate
//! `cargo install starknet-devnet` costs 25–35 minutes on two cores) and guarantees that Cairn
//! computes compiled class hashes with the compiler the node uses. This is the node `cairn deploy`
//! starts when no `--rpc` is given; it keeps only the options Cairn needs: a port, a seed for
//! deterministic accounts and a state file that every block is written to and that is replayed at
//! start (`--dump-path`), so that deployments survive a restart.

use std::net::{IpAddr, Ipv4Addr};

use clap::Parser;
use server::api::{Api, JsonRpcHandler};
use server::dump_util::read_events;
use server::server::serve_http_json_rpc;
use server::ServerConfig;
use starknet_core::starknet::starknet_config::{DumpOn, StarknetConfig};
use starknet_core::starknet::Starknet;
use starknet_devnet_core as starknet_core;
use starknet_devnet_server as server;

#[derive(Parser)]
#[command(
    name = "cairn-devnet",
    version,
    about = "A local Starknet node (starknet-devnet 0.10.1) for Cairn"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Port to listen on (0 picks a free one; the chosen port is printed).
    #[arg(long, default_value_t = 5050)]
    port: u16,
    /// Seed of the predeployed accounts (deterministic for a given seed).
    #[arg(long, default_value_t = 0)]
    seed: u32,
    /// Number of predeployed accounts.
    #[arg(long, default_value_t = 1)]
    accounts: u8,
    /// When to write the state file (only `block` is supported: after every block).
    #[arg(long, value_parser = ["block"], requires = "dump_path")]
    dump_on: Option<String>,
    /// State file: replayed at start, rewritten after every block (same flags as
    /// starknet-devnet, so either binary can serve Cairn).
    #[arg(long)]
    dump_path: Option<String>,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("cairn-devnet: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = StarknetConfig {
        seed: args.seed,
        total_accounts: args.accounts,
        dump_on: args.dump_path.as_ref().map(|_| DumpOn::Block),
        dump_path: args.dump_path.clone(),
        ..StarknetConfig::default()
    };
    let server_config = ServerConfig {
        host: args.host,
        port: args.port,
        timeout: 120,
        log_request: false,
        log_response: false,
        restricted_methods: None,
        ui_enabled: false,
    };
    let starknet = Starknet::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind((args.host, args.port)).await?;
    let address = listener.local_addr()?;
    let api = Api::new(starknet, server_config);
    let handler = JsonRpcHandler::new(api.clone());
    if let Some(path) = &args.dump_path {
        match read_events(path) {
            Ok(events) => handler
                .re_execute(&events)
                .await
                .map_err(|e| anyhow::anyhow!("cannot replay the state in {path}: {e:?}"))?,
            Err(starknet_core::error::Error::FileNotFound) => {}
            Err(e) => anyhow::bail!("cannot read the state in {path}: {e}"),
        }
    }
    let server = serve_http_json_rpc(listener, &api.server_config, handler).await;
    // Cairn waits for this line (and polls /is_alive) before it sends anything.
    println!("cairn-devnet listening on http://{address}");
    server.await?;
    Ok(())
}
