//! An example consumer: acts once per verified prediction of one model. It records the decision
//! (the index of the largest output) for a prediction whose fact the registry holds, and rejects
//! unverified predictions and replays. It reads the registry only through Integrity's interface.

#[starknet::interface]
pub trait IDecisions<T> {
    /// Acts on the prediction with public output `[input_hash, outputs...]`; returns the decision.
    fn act(ref self: T, input_hash: felt252, outputs: Array<felt252>) -> u32;
    /// The decision recorded for a fact, if any.
    fn decision(self: @T, fact_hash: felt252) -> Option<u32>;
    /// How many decisions were recorded.
    fn decisions(self: @T) -> u32;
}

#[starknet::contract]
pub mod CairnDecisions {
    use core::poseidon::poseidon_hash_span;
    use starknet::ContractAddress;
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use crate::registry::{IFactRegistryDispatcher, IFactRegistryDispatcherTrait};

    #[storage]
    struct Storage {
        registry: ContractAddress,
        program_hash: felt252,
        /// fact → decision + 1 (0: none yet).
        decided: Map<felt252, u32>,
        count: u32,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        Decided: Decided,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Decided {
        #[key]
        pub fact_hash: felt252,
        pub decision: u32,
    }

    #[constructor]
    fn constructor(ref self: ContractState, registry: ContractAddress, program_hash: felt252) {
        self.registry.write(registry);
        self.program_hash.write(program_hash);
    }

    /// Index of the largest output, read as signed fixed point (first on ties).
    fn argmax(outputs: Span<felt252>) -> u32 {
        assert(outputs.len() > 0, 'cairn: no outputs');
        let mut best: i128 = (*outputs[0]).try_into().expect('cairn: output out of range');
        let mut best_i = 0;
        let mut i = 0;
        for v in outputs {
            let x: i128 = (*v).try_into().expect('cairn: output out of range');
            if x > best {
                best = x;
                best_i = i;
            }
            i += 1;
        }
        best_i
    }

    #[abi(embed_v0)]
    impl DecisionsImpl of super::IDecisions<ContractState> {
        fn act(ref self: ContractState, input_hash: felt252, outputs: Array<felt252>) -> u32 {
            let mut public_output = array![input_hash];
            public_output.append_span(outputs.span());
            let fact_hash = poseidon_hash_span(
                array![self.program_hash.read(), poseidon_hash_span(public_output.span())].span(),
            );
            let registry = IFactRegistryDispatcher { contract_address: self.registry.read() };
            assert(
                registry.get_all_verifications_for_fact_hash(fact_hash).len() > 0,
                'cairn: prediction not verified',
            );
            assert(self.decided.read(fact_hash) == 0, 'cairn: prediction already used');
            let decision = argmax(outputs.span());
            self.decided.write(fact_hash, decision + 1);
            self.count.write(self.count.read() + 1);
            self.emit(Decided { fact_hash, decision });
            decision
        }

        fn decision(self: @ContractState, fact_hash: felt252) -> Option<u32> {
            let d = self.decided.read(fact_hash);
            if d == 0 {
                Option::None
            } else {
                Option::Some(d - 1)
            }
        }

        fn decisions(self: @ContractState) -> u32 {
            self.count.read()
        }
    }
}