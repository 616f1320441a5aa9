//! An account on a Starknet node: declare, deploy, invoke (fee estimated first, receipt
//! checked) and read-only calls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use starknet::accounts::{Account, ExecutionEncoding, SingleOwnerAccount};
use starknet::contract::{ContractFactory, UdcSelector};
use starknet::core::types::contract::SierraClass;
use starknet::core::types::{
    BlockId, BlockTag, Call, ContractExecutionError, ExecutionResult, FeeEstimate, Felt,
    FlattenedSierraClass, FunctionCall, StarknetError, TransactionReceipt,
    TransactionReceiptWithBlockInfo,
};
use starknet::core::utils::get_selector_from_name;
use starknet::providers::jsonrpc::HttpTransport;
use starknet::providers::{JsonRpcClient, Provider, ProviderError};
use starknet::signers::{LocalWallet, SigningKey};
use url::Url;

use crate::ChainError;

type Rpc = Arc<JsonRpcClient<HttpTransport>>;
type Acct = SingleOwnerAccount<Rpc, LocalWallet>;

/// Sets a transaction builder's resource bounds from the node's estimate, with margins (the
/// declaration, deployment and execution builders share these setters, not a trait).
macro_rules! bounded {
    ($builder:expr, $raw:expr) => {
        $builder
            .l1_gas(margin($raw.l1_gas_consumed))
            .l1_gas_price(price($raw.l1_gas_price))
            .l2_gas(margin($raw.l2_gas_consumed))
            .l2_gas_price(price($raw.l2_gas_price))
            .l1_data_gas(margin($raw.l1_data_gas_consumed))
            .l1_data_gas_price(price($raw.l1_data_gas_price))
    };
}

/// Safety margins over the node's estimate when sending.
const GAS_MARGIN: f64 = 1.5;
const PRICE_MARGIN: f64 = 2.0;
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the account's key comes from. Keys are only held in memory, never printed or written.
pub enum Signer {
    Key(Felt),
    Keystore {
        path: std::path::PathBuf,
        password: String,
    },
}

/// A class ready to declare: its Sierra class as JSON (the compiler's output) and the hash of the
/// CASM the node will compile it to.
pub struct ClassToDeclare {
    pub name: String,
    pub sierra_json: String,
    pub compiled_class_hash: Felt,
}

/// A transaction that made it into a block.
#[derive(Debug, Clone, Serialize)]
pub struct TxReport {
    pub what: String,
    pub hash: Felt,
    /// `None` when it succeeded, else the revert reason.
    pub reverted: Option<String>,
    pub l2_gas: u64,
    pub l1_data_gas: u64,
    /// Actual fee paid, in FRI.
    pub fee: u128,
    pub calldata_felts: usize,
    #[serde(skip)]
    pub events: Vec<starknet::core::types::Event>,
}

/// The node's estimate for a transaction that has not been sent.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub l2_gas: u64,
    pub l1_gas: u64,
    pub l1_data_gas: u64,
    /// Estimated fee in FRI.
    pub fee: u128,
    #[serde(skip)]
    raw: Option<FeeEstimate>,
}

impl From<FeeEstimate> for Estimate {
    fn from(f: FeeEstimate) -> Self {
        Estimate {
            l2_gas: f.l2_gas_consumed,
            l1_gas: f.l1_gas_consumed,
            l1_data_gas: f.l1_data_gas_consumed,
            fee: f.overall_fee,
            raw: Some(f),
        }
    }
}

pub struct Chain {
    pub url: Url,
    pub chain_id: Felt,
    provider: Rpc,
    account: Acct,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Chain")
            .field("url", &self.url.as_str())
            .field("account", &self.account.address())
            .finish()
    }
}

impl Chain {
    pub async fn connect(url: Url, address: Felt, signer: Signer) -> Result<Chain, ChainError> {
        let provider = Arc::new(JsonRpcClient::new(HttpTransport::new(url.clone())));
        let chain_id = provider
            .chain_id()
            .await
            .map_err(|e| provider_error(&url, e))?;
        let key = match signer {
            Signer::Key(k) => SigningKey::from_secret_scalar(k),
            Signer::Keystore { path, password } => SigningKey::from_keystore(&path, &password)
                .map_err(|e| {
                    ChainError::Account(format!("cannot open the keystore {}: {e}", path.display()))
                })?,
        };
        let mut account = SingleOwnerAccount::new(
            provider.clone(),
            LocalWallet::from(key),
            address,
            chain_id,
            ExecutionEncoding::New,
        );
        // Pre-confirmed state, so that consecutive transactions see each other.
        account.set_block_id(BlockId::Tag(BlockTag::PreConfirmed));
        Ok(Chain {
            url,
            chain_id,
            provider,
            account,
        })
    }

    pub fn address(&self) -> Felt {
        self.account.address()
    }

    /// The chain id as text (`SN_SEPOLIA`, `SN_MAIN`, ...).
    pub fn chain_name(&self) -> String {
        starknet::core::utils::parse_cairo_short_string(&self.chain_id)
            .unwrap_or_else(|_| format!("{:#x}", self.chain_id))
    }

    /// The class hash of a Sierra class, as the node computes it.
    pub fn class_hash(
        class: &ClassToDeclare,
    ) -> Result<(Felt, Arc<FlattenedSierraClass>), ChainError> {
        let sierra: SierraClass = serde_json::from_str(&class.sierra_json)
            .map_err(|e| ChainError::Class(format!("{}: {e}", class.name)))?;
        let flat = sierra
            .flatten()
            .map_err(|e| ChainError::Class(format!("{}: {e}", class.name)))?;
        Ok((flat.class_hash(), Arc::new(flat)))
    }

    pub async fn is_declared(&self, class_hash: Felt) -> Result<bool, ChainError> {
        match self
            .provider
            .get_class(BlockId::Tag(BlockTag::PreConfirmed), class_hash)
            .await
        {
            Ok(_) => Ok(true),
            Err(ProviderError::StarknetError(StarknetError::ClassHashNotFound)) => Ok(false),
            Err(e) => Err(provider_error(&self.url, e)),
        }
    }

    pub async fn is_deployed(&self, address: Felt) -> Result<bool, ChainError> {
        match self
            .provider
            .get_class_hash_at(BlockId::Tag(BlockTag::PreConfirmed), address)
            .await
        {
            Ok(_) => Ok(true),
            Err(ProviderError::StarknetError(StarknetError::ContractNotFound)) => Ok(false),
            Err(e) => Err(provider_error(&self.url, e)),
        }
    }

    /// Estimates a declaration (`None` if the class is already declared).
    pub async fn estimate_declare(
        &self,
        class: &ClassToDeclare,
    ) -> Result<Option<Estimate>, ChainError> {
        let (hash, flat) = Self::class_hash(class)?;
        if self.is_declared(hash).await? {
            return Ok(None);
        }
        let est = self
            .account
            .declare_v3(flat, class.compiled_class_hash)
            .estimate_fee()
            .await
            .map_err(|e| account_error(&self.url, e))?;
        Ok(Some(est.into()))
    }

    /// Declares a class unless the node has it; returns its hash and the transaction, if any.
    pub async fn declare(
        &self,
        class: &ClassToDeclare,
        est: &Estimate,
    ) -> Result<(Felt, TxReport), ChainError> {
        let (hash, flat) = Self::class_hash(class)?;
        let raw = est
            .raw
            .as_ref()
            .ok_or(ChainError::Internal("no estimate"))?;
        let sent = bounded!(
            self.account.declare_v3(flat, class.compiled_class_hash),
            raw
        )
        .send()
        .await
        .map_err(|e| account_error(&self.url, e))?;
        let report = self
            .wait(sent.transaction_hash, format!("declare {}", class.name), 0)
            .await?;
        Ok((hash, report))
    }

    fn factory(&self, class_hash: Felt) -> ContractFactory<&Acct> {
        ContractFactory::new_with_udc(class_hash, &self.account, UdcSelector::New)
    }

    /// The address a deployment through the UDC (not unique to the deployer) would get.
    pub fn deployed_address(&self, class_hash: Felt, calldata: &[Felt], salt: Felt) -> Felt {
        self.factory(class_hash)
            .deploy_v3(calldata.to_vec(), salt, false)
            .deployed_address()
    }

    pub async fn estimate_deploy(
        &self,
        class_hash: Felt,
        calldata: &[Felt],
        salt: Felt,
    ) -> Result<Estimate, ChainError> {
        let est = self
            .factory(class_hash)
            .deploy_v3(calldata.to_vec(), salt, false)
            .estimate_fee()
            .await
            .map_err(|e| account_error(&self.url, e))?;
        Ok(est.into())
    }

    /// Deploys through the UDC; returns the address and the transaction.
    pub async fn deploy(
        &self,
        what: &str,
        class_hash: Felt,
        calldata: &[Felt],
        salt: Felt,
        est: &Estimate,
    ) -> Result<(Felt, TxReport), ChainError> {
        let raw = est
            .raw
            .as_ref()
            .ok_or(ChainError::Internal("no estimate"))?;
        let factory = self.factory(class_hash);
        let deployment = bounded!(factory.deploy_v3(calldata.to_vec(), salt, false), raw);
        let address = deployment.deployed_address();
        let sent = deployment
            .send()
            .await
            .map_err(|e| account_error(&self.url, e))?;
        let report = self
            .wait(
                sent.transaction_hash,
                format!("deploy {what}"),
                // The UDC call's arguments around the constructor's, and the account's encoding.
                calldata.len() + 8,
            )
            .await?;
        Ok((address, report))
    }

    /// The node's estimate for an invoke; a call that reverts gives [`ChainError::Rejected`].
    pub async fn estimate_invoke(&self, calls: &[Call]) -> Result<Estimate, ChainError> {
        let est = self
            .account
            .execute_v3(calls.to_vec())
            .estimate_fee()
            .await
            .map_err(|e| account_error(&self.url, e))?;
        Ok(est.into())
    }

    /// Sends an invoke with bounds from `est`, or with `fallback_l2_gas` when there is no
    /// estimate (a call known to revert, sent anyway so that the chain records the revert).
    pub async fn invoke(
        &self,
        what: &str,
        calls: &[Call],
        est: Option<&Estimate>,
        fallback_l2_gas: u64,
    ) -> Result<TxReport, ChainError> {
        let calldata_felts = calls.iter().map(|c| c.calldata.len() + 3).sum::<usize>() + 1;
        let exec = self.account.execute_v3(calls.to_vec());
        let exec = match est.and_then(|e| e.raw.as_ref()) {
            Some(raw) => bounded!(exec, raw),
            None => {
                let block = self
                    .provider
                    .get_block_with_tx_hashes(BlockId::Tag(BlockTag::Latest))
                    .await
                    .map_err(|e| provider_error(&self.url, e))?;
                let prices = block_prices(&block);
                exec.l1_gas(0)
                    .l1_gas_price(price(prices.0))
                    .l2_gas(fallback_l2_gas)
                    .l2_gas_price(price(prices.1))
                    .l1_data_gas(1_000)
                    .l1_data_gas_price(price(prices.2))
            }
        };
        let sent = exec.send().await.map_err(|e| account_error(&self.url, e))?;
        self.wait(sent.transaction_hash, what.to_string(), calldata_felts)
            .await
    }

    /// A read-only call at the pre-confirmed state.
    pub async fn call(
        &self,
        contract: Felt,
        entry_point: &str,
        calldata: Vec<Felt>,
    ) -> Result<Vec<Felt>, ChainError> {
        let selector = get_selector_from_name(entry_point)
            .map_err(|_| ChainError::Internal("bad entry point name"))?;
        let result = self
            .provider
            .call(
                FunctionCall {
                    contract_address: contract,
                    entry_point_selector: selector,
                    calldata,
                },
                BlockId::Tag(BlockTag::PreConfirmed),
            )
            .await;
        match result {
            Err(ProviderError::StarknetError(StarknetError::ContractNotFound)) => {
                Err(ChainError::Provider(format!(
                    "no contract at {contract:#x} on {}: was it deployed on this network? \
                     (run `cairn deploy`)",
                    self.url
                )))
            }
            r => r.map_err(|e| provider_error(&self.url, e)),
        }
    }

    async fn wait(
        &self,
        hash: Felt,
        what: String,
        calldata_felts: usize,
    ) -> Result<TxReport, ChainError> {
        let start = Instant::now();
        loop {
            match self.provider.get_transaction_receipt(hash).await {
                Ok(r) => return Ok(report(what, r, calldata_felts)),
                Err(ProviderError::StarknetError(StarknetError::TransactionHashNotFound)) => {}
                Err(e) => return Err(provider_error(&self.url, e)),
            }
            if start.elapsed() > RECEIPT_TIMEOUT {
                return Err(ChainError::Timeout {
                    hash: format!("{hash:#x}"),
                    seconds: RECEIPT_TIMEOUT.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A call of `entry_point` on `contract`.
pub fn call(contract: Felt, entry_point: &str, calldata: Vec<Felt>) -> Call {
    Call {
        to: contract,
        selector: get_selector_from_name(entry_point).expect("entry point names are ASCII"),
        calldata,
    }
}

fn margin(gas: u64) -> u64 {
    ((gas as f64) * GAS_MARGIN) as u64 + 1
}

fn price(p: u128) -> u128 {
    ((p as f64) * PRICE_MARGIN) as u128 + 1
}

fn block_prices(
    block: &starknet::core::types::MaybePreConfirmedBlockWithTxHashes,
) -> (u128, u128, u128) {
    use starknet::core::types::MaybePreConfirmedBlockWithTxHashes as B;
    let (l1, l2, data) = match block {
        B::Block(b) => (&b.l1_gas_price, &b.l2_gas_price, &b.l1_data_gas_price),
        B::PreConfirmedBlock(b) => (&b.l1_gas_price, &b.l2_gas_price, &b.l1_data_gas_price),
    };
    let fri = |p: &starknet::core::types::ResourcePrice| -> u128 {
        p.price_in_fri
            .to_biguint()
            .try_into()
            .unwrap_or(u128::MAX / 4)
    };
    (fri(l1), fri(l2), fri(data))
}

fn report(what: String, r: TransactionReceiptWithBlockInfo, calldata_felts: usize) -> TxReport {
    let receipt = r.receipt;
    let (fee, resources, events) = match &receipt {
        TransactionReceipt::Invoke(t) => (&t.actual_fee, &t.execution_resources, &t.events),
        TransactionReceipt::Declare(t) => (&t.actual_fee, &t.execution_resources, &t.events),
        TransactionReceipt::DeployAccount(t) => (&t.actual_fee, &t.execution_resources, &t.events),
        TransactionReceipt::Deploy(t) => (&t.actual_fee, &t.execution_resources, &t.events),
        TransactionReceipt::L1Handler(t) => (&t.actual_fee, &t.execution_resources, &t.events),
    };
    let reverted = match receipt.execution_result() {
        ExecutionResult::Succeeded => None,
        ExecutionResult::Reverted { reason } => Some(revert_reason(reason)),
    };
    TxReport {
        what,
        hash: *receipt.transaction_hash(),
        reverted,
        l2_gas: resources.l2_gas,
        l1_data_gas: resources.l1_data_gas,
        fee: fee.amount.to_biguint().try_into().unwrap_or(u128::MAX),
        calldata_felts,
        events: events.clone(),
    }
}

/// The readable part of a revert: Cairn's own `'cairn: ...'` messages when present.
pub fn revert_reason(raw: &str) -> String {
    if let Some(i) = raw.find("'cairn: ") {
        let rest = &raw[i + 1..];
        if let Some(end) = rest.find('\'') {
            return rest[..end].to_string();
        }
    }
    if let Some(i) = raw.find("cairn: ") {
        let rest = &raw[i..];
        let end = rest.find(['\'', '"', '\n', ')']).unwrap_or(rest.len());
        return rest[..end].to_string();
    }
    raw.trim().to_string()
}

fn execution_error_text(e: &ContractExecutionError) -> String {
    match e {
        ContractExecutionError::Message(m) => m.clone(),
        ContractExecutionError::Nested(inner) => execution_error_text(&inner.error),
    }
}

fn provider_error(url: &Url, e: ProviderError) -> ChainError {
    match e {
        ProviderError::StarknetError(StarknetError::TransactionExecutionError(d)) => {
            ChainError::Rejected(revert_reason(&execution_error_text(&d.execution_error)))
        }
        ProviderError::StarknetError(StarknetError::ContractError(d)) => {
            ChainError::Rejected(revert_reason(&execution_error_text(&d.revert_error)))
        }
        ProviderError::StarknetError(se) => ChainError::Provider(format!("{url}: {se}")),
        ProviderError::Other(o) => ChainError::unreachable(url, o.to_string()),
        other => ChainError::Provider(format!("{url}: {other}")),
    }
}

fn account_error<S: std::fmt::Display>(
    url: &Url,
    e: starknet::accounts::AccountError<S>,
) -> ChainError {
    use starknet::accounts::AccountError as E;
    match e {
        E::Provider(p) => provider_error(url, p),
        E::Signing(s) => ChainError::Account(format!("signing failed: {s}")),
        other => ChainError::Provider(other.to_string()),
    }
}
