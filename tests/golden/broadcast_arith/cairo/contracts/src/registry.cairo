//! A fact registry with Herodotus Integrity's interface (`get_all_verifications_for_fact_hash`,
//! `get_verification`), so consumers written against Integrity work unchanged. Only verifier
//! contracts that the owner added may register facts.

use starknet::ContractAddress;

#[derive(Drop, Copy, Serde, starknet::Store)]
pub struct VerifierConfiguration {
    pub layout: felt252,
    pub hasher: felt252,
    pub stone_version: felt252,
    pub memory_verification: felt252,
}

#[derive(Drop, Copy, Serde)]
pub struct VerificationListElement {
    pub verification_hash: felt252,
    pub security_bits: u32,
    pub verifier_config: VerifierConfiguration,
}

#[derive(Drop, Copy, Serde, starknet::Store)]
pub struct Verification {
    pub fact_hash: felt252,
    pub security_bits: u32,
    pub verifier_config: VerifierConfiguration,
}

#[starknet::interface]
pub trait IFactRegistry<T> {
    fn get_all_verifications_for_fact_hash(
        self: @T, fact_hash: felt252,
    ) -> Array<VerificationListElement>;
    fn get_verification(self: @T, verification_hash: felt252) -> Option<Verification>;
    /// Whether at least one verification of the fact was registered.
    fn is_valid(self: @T, fact_hash: felt252) -> bool;
    fn register_fact(
        ref self: T, fact_hash: felt252, security_bits: u32, verifier_config: VerifierConfiguration,
    ) -> felt252;
    fn add_verifier(ref self: T, verifier: ContractAddress);
    fn is_verifier(self: @T, verifier: ContractAddress) -> bool;
}

#[starknet::contract]
pub mod CairnFactRegistry {
    use core::poseidon::poseidon_hash_span;
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::{ContractAddress, get_caller_address};
    use super::{Verification, VerificationListElement, VerifierConfiguration};

    #[storage]
    struct Storage {
        owner: ContractAddress,
        verifiers: Map<ContractAddress, bool>,
        /// fact → number of verifications.
        fact_count: Map<felt252, u32>,
        /// poseidon(fact, i) → the i-th verification hash of the fact.
        fact_entry: Map<felt252, felt252>,
        verification: Map<felt252, Verification>,
        known: Map<felt252, bool>,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        FactRegistered: FactRegistered,
    }

    #[derive(Drop, starknet::Event)]
    pub struct FactRegistered {
        #[key]
        pub fact_hash: felt252,
        pub verifier_address: ContractAddress,
        pub security_bits: u32,
        pub verifier_config: VerifierConfiguration,
        #[key]
        pub verification_hash: felt252,
    }

    #[constructor]
    fn constructor(ref self: ContractState, owner: ContractAddress) {
        self.owner.write(owner);
    }

    fn entry_key(fact_hash: felt252, i: u32) -> felt252 {
        poseidon_hash_span(array![fact_hash, i.into()].span())
    }

    #[abi(embed_v0)]
    impl FactRegistryImpl of super::IFactRegistry<ContractState> {
        fn get_all_verifications_for_fact_hash(
            self: @ContractState, fact_hash: felt252,
        ) -> Array<VerificationListElement> {
            let mut out = array![];
            for i in 0..self.fact_count.read(fact_hash) {
                let verification_hash = self.fact_entry.read(entry_key(fact_hash, i));
                let v = self.verification.read(verification_hash);
                out
                    .append(
                        VerificationListElement {
                            verification_hash,
                            security_bits: v.security_bits,
                            verifier_config: v.verifier_config,
                        },
                    );
            }
            out
        }

        fn get_verification(self: @ContractState, verification_hash: felt252) -> Option<Verification> {
            if self.known.read(verification_hash) {
                Option::Some(self.verification.read(verification_hash))
            } else {
                Option::None
            }
        }

        fn is_valid(self: @ContractState, fact_hash: felt252) -> bool {
            self.fact_count.read(fact_hash) > 0
        }

        fn register_fact(
            ref self: ContractState,
            fact_hash: felt252,
            security_bits: u32,
            verifier_config: VerifierConfiguration,
        ) -> felt252 {
            let caller = get_caller_address();
            assert(self.verifiers.read(caller), 'cairn: not a verifier');
            let verification_hash = poseidon_hash_span(
                array![
                    fact_hash, security_bits.into(), verifier_config.layout, verifier_config.hasher,
                    verifier_config.stone_version, verifier_config.memory_verification,
                ]
                    .span(),
            );
            if !self.known.read(verification_hash) {
                self.known.write(verification_hash, true);
                self
                    .verification
                    .write(verification_hash, Verification { fact_hash, security_bits, verifier_config });
                let n = self.fact_count.read(fact_hash);
                self.fact_entry.write(entry_key(fact_hash, n), verification_hash);
                self.fact_count.write(fact_hash, n + 1);
                self
                    .emit(
                        FactRegistered {
                            fact_hash,
                            verifier_address: caller,
                            security_bits,
                            verifier_config,
                            verification_hash,
                        },
                    );
            }
            verification_hash
        }

        fn add_verifier(ref self: ContractState, verifier: ContractAddress) {
            assert(get_caller_address() == self.owner.read(), 'cairn: only the owner');
            self.verifiers.write(verifier, true);
        }

        fn is_verifier(self: @ContractState, verifier: ContractAddress) -> bool {
            self.verifiers.read(verifier)
        }
    }
}