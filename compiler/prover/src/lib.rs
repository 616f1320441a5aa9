//! The proving stage: a Cairo VM execution in, a Stwo proof out ([`prove`]); a proof in, its
//! verified claim (program hash and public output) out ([`verify`]).
//!
//! Parameters: Blake2s channel, blowup 2, 20 bits of proof of work and 76 FRI queries: 96-bit
//! security by the upstream formula `pow_bits + log_blowup · n_queries`, like the upstream
//! production setting (26 + 70) but with less grinding, whose time is random and dominated
//! small proofs on two cores (20.8 s → 13.8 s for the MNIST MLP, for a 7% larger proof). Also the
//! small canonical preprocessed trace, and a lifting domain sized to the trace (the upstream
//! default lifts to 2^31 and costs ~6 GB even for tiny programs).
//!
//! Invariant: this is the only crate that depends on the Stwo prover and verifier.

use std::path::Path;
use std::time::Instant;

use cairn_cairo::{Execution, Felt252};
use cairo_air::air::PubMemoryValue;
use cairo_air::utils::{
    construct_f252, deserialize_proof_from_file, encode_and_hash_memory_section,
    get_verification_output, serialize_proof_to_file, ProofFormat,
};
use cairo_air::{CairoProof, CairoProofForRustVerifier};
use stwo::core::fri::FriConfig;
use stwo::core::pcs::PcsConfig;
use stwo::core::vcs_lifted::blake2_merkle::{Blake2sMerkleChannel, Blake2sMerkleHasher};
use stwo_cairo_adapter::adapter::adapt;
use stwo_cairo_common::preprocessed_columns::preprocessed_trace::PreProcessedTraceVariant;
use stwo_cairo_prover::prover::{prove_cairo, ChannelHash, ProverParameters};

pub type Proof = CairoProof<Blake2sMerkleHasher>;

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("cannot adapt the execution for the prover: {0}")]
    Adapt(String),
    #[error("proving failed: {0}")]
    Prove(String),
    #[error("cannot write the proof to {path}: {message}")]
    Write { path: String, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "cannot read the proof {path}: {message} (is it a Cairn proof, complete and unmodified?)"
    )]
    Read { path: String, message: String },
    #[error("the proof is invalid: {0}")]
    Invalid(String),
}

/// The smallest lifting domain (log2) used; smaller traces all share it.
const MIN_LIFTING_LOG_SIZE: u32 = 21;

/// The 96-bit parameters (20 + 1 · 76), with a lifting domain fitting a run of `steps` steps.
pub fn parameters(steps: usize) -> ProverParameters {
    // The largest trace columns have about as many rows as steps; the lifting domain must hold
    // them after the blowup.
    let log_steps = usize::BITS - steps.max(1).leading_zeros();
    ProverParameters {
        channel_hash: ChannelHash::Blake2s,
        channel_salt: 0,
        pcs_config: PcsConfig {
            pow_bits: 20,
            fri_config: FriConfig {
                log_blowup_factor: 1,
                log_last_layer_degree_bound: 0,
                n_queries: 76,
                fold_step: 1,
            },
            lifting_log_size: Some(MIN_LIFTING_LOG_SIZE.max(log_steps + 2)),
        },
        preprocessed_trace: PreProcessedTraceVariant::CanonicalSmall,
        store_polynomials_coefficients: false,
        include_all_preprocessed_columns: false,
    }
}

/// A proof and how long it took.
pub struct Proved {
    pub proof: Proof,
    pub seconds: f64,
}

/// Proves an execution.
pub fn prove(execution: &Execution) -> Result<Proved, ProveError> {
    let start = Instant::now();
    let input = adapt(&execution.runner).map_err(|e| ProveError::Adapt(format!("{e:#}")))?;
    let params = parameters(execution.steps);
    // The prover asserts on inputs it cannot handle: turn a panic into an error.
    let proof = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        prove_cairo::<Blake2sMerkleChannel>(input, params)
    }))
    .map_err(|p| ProveError::Prove(panic_text(&p)))?
    .map_err(|e| ProveError::Prove(format!("{e:?}")))?;
    Ok(Proved {
        proof,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Writes a proof in the compact binary format (bincode + bzip2); returns its size in bytes.
pub fn save(proof: &Proof, path: &Path) -> Result<u64, ProveError> {
    let err = |message: String| ProveError::Write {
        path: path.display().to_string(),
        message,
    };
    serialize_proof_to_file(proof, path, ProofFormat::Binary).map_err(|e| err(e.to_string()))?;
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| err(e.to_string()))
}

/// What a valid proof establishes: a program with this hash ran and wrote this output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Blake2s hash of the program's bytecode, as Stwo's verification output defines it.
    pub program_hash: Felt252,
    /// The program's output segment: `[len, values...]` for an executable returning an array.
    pub output: Vec<Felt252>,
}

/// The claim a proof makes, before (and independently of) verification.
pub fn claim(proof: &CairoProofForRustVerifier<Blake2sMerkleHasher>) -> Claim {
    let out = get_verification_output(&proof.claim.public_data.public_memory);
    Claim {
        program_hash: Felt252::from_bytes_be(&out.program_hash.to_bytes_be()),
        output: out
            .output
            .iter()
            .map(|f| Felt252::from_bytes_be(&f.to_bytes_be()))
            .collect(),
    }
}

/// Reads a binary proof file and verifies it with Stwo's verifier; returns its claim.
pub fn verify_file(path: &Path) -> Result<(Claim, f64), VerifyError> {
    let read_err = |message: String| VerifyError::Read {
        path: path.display().to_string(),
        message,
    };
    // Deserialisation of hostile bytes may panic inside the codec: contain it.
    let proof = std::panic::catch_unwind(|| {
        deserialize_proof_from_file::<Blake2sMerkleHasher>(path, ProofFormat::Binary)
    })
    .map_err(|p| read_err(panic_text(&p)))?
    .map_err(|e| read_err(e.to_string()))?;
    let claim = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| claim(&proof)))
        .map_err(|p| VerifyError::Invalid(panic_text(&p)))?;
    let start = Instant::now();
    verify(proof)?;
    Ok((claim, start.elapsed().as_secs_f64()))
}

/// Verifies a proof with Stwo's verifier, which asserts on some malformed claims: a panic is
/// reported as an invalid proof.
pub fn verify(proof: CairoProofForRustVerifier<Blake2sMerkleHasher>) -> Result<(), VerifyError> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cairo_air::verifier::verify_cairo::<Blake2sMerkleChannel>(proof)
    }));
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(VerifyError::Invalid(e.to_string())),
        Err(p) => Err(VerifyError::Invalid(format!(
            "rejected by the verifier ({})",
            panic_text(&p)
        ))),
    }
}

/// The program hash Stwo reports for a program with this bytecode (see [`Claim`]).
pub fn program_hash(bytecode: &[Felt252]) -> Felt252 {
    let section: Vec<PubMemoryValue> = bytecode.iter().map(|f| (0, limbs(f))).collect();
    let h = construct_f252(&encode_and_hash_memory_section(&section));
    Felt252::from_bytes_be(&h.to_bytes_be())
}

/// A felt as eight little-endian u32 limbs.
fn limbs(f: &Felt252) -> [u32; 8] {
    let le = f.to_bytes_le();
    std::array::from_fn(|i| {
        u32::from_le_bytes([le[4 * i], le[4 * i + 1], le[4 * i + 2], le[4 * i + 3]])
    })
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "internal panic".into())
}
