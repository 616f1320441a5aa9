//! One module per command. Each takes typed arguments and returns a typed, serialisable summary.

pub mod act;
pub mod compile;
pub mod deploy;
pub mod facts;
pub mod inspect;
pub mod network;
pub mod prove;
pub mod report;
pub mod run;
pub mod submit;
pub mod verify;

use anyhow::{Context, Result};
use cairn_cairo::{Executable, Felt252};

use crate::artifacts::{Dir, PROGRAM};

/// A signed integer as a field element (negative values are `p - |v|`).
pub fn felt(v: i128) -> Felt252 {
    if v < 0 {
        -Felt252::from(v.unsigned_abs())
    } else {
        Felt252::from(v as u128)
    }
}

/// A field element as a signed integer, if it lies in `(-2^127, 2^127)`.
pub fn signed(f: &Felt252) -> Option<i128> {
    let small = |x: &Felt252| {
        let b = x.to_bytes_be();
        b[..16]
            .iter()
            .all(|&z| z == 0)
            .then(|| u128::from_be_bytes(b[16..].try_into().unwrap_or([0; 16])))
    };
    match small(f) {
        Some(u) if u < (1 << 127) => Some(u as i128),
        _ => small(&-*f)
            .filter(|&u| u < (1 << 127))
            .map(|u| -(u as i128)),
    }
}

pub fn load_program(dir: &Dir) -> Result<Executable> {
    crate::artifacts::read_json(&dir.path(PROGRAM), "run `cairn compile` to produce it")
        .with_context(|| format!("loading the compiled program of {}", dir.0.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_integers_round_trip_through_the_field() {
        for v in [0i128, 1, -1, 12345, -(1 << 100), (1 << 126), -(1 << 126)] {
            assert_eq!(signed(&felt(v)), Some(v));
        }
        assert_eq!(signed(&Felt252::from(1u128 << 127)), None);
    }
}
