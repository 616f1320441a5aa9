//! The model verifier: accepts a claimed prediction only if re-executing the model onchain gives
//! exactly the claimed outputs, then registers the claim's fact in the registry.
//!
//! Small models are checked in one transaction (`verify_and_register`). Bigger ones run over
//! several: `begin` commits to the input, each `advance` runs some stages on live tensors that
//! must match the commitment left by the previous transaction, and `finish` compares the last
//! stage's outputs with the claim. Stages are classes run by library call.

use starknet::{ClassHash, ContractAddress};

#[derive(Drop, Copy, Serde)]
pub struct ModelInfo {
    pub program_hash: felt252,
    pub weights_commitment: felt252,
    pub registry: ContractAddress,
    pub stages: u32,
    pub input_len: u32,
    pub output_len: u32,
}

#[starknet::interface]
pub trait IModelVerifier<T> {
    /// Re-executes the model on `input` and registers the fact if the outputs equal `claimed`.
    fn verify_and_register(ref self: T, input: Array<felt252>, claimed: Array<felt252>) -> felt252;
    /// Starts a multi-transaction check; returns its session id.
    fn begin(ref self: T, input: Array<felt252>) -> felt252;
    /// Runs the session's next `count` stages on `live`, the previous stage's outputs.
    fn advance(ref self: T, session: felt252, count: u32, live: Array<felt252>);
    /// Ends a session whose stages have all run: registers the fact if the outputs equal `claimed`.
    fn finish(ref self: T, session: felt252, claimed: Array<felt252>) -> felt252;
    /// Runs stages `first..first + count` (read-only; clients use it to compute live tensors).
    fn run_stages(self: @T, first: u32, count: u32, live: Array<felt252>) -> Array<felt252>;
    /// A session's next stage and the commitment of its live tensors.
    fn session(self: @T, session: felt252) -> (u32, felt252);
    /// The fact a claim would have.
    fn fact_hash(self: @T, input: Array<felt252>, outputs: Array<felt252>) -> felt252;
    fn model(self: @T) -> ModelInfo;
    fn stage_class(self: @T, index: u32) -> ClassHash;
}

#[starknet::contract]
pub mod CairnVerifier {
    use cairn_runtime::tensor;
    use core::poseidon::poseidon_hash_span;
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::syscalls::library_call_syscall;
    use starknet::{ClassHash, ContractAddress, SyscallResultTrait, get_caller_address};
    use crate::registry::{IFactRegistryDispatcher, IFactRegistryDispatcherTrait, VerifierConfiguration};
    use super::ModelInfo;

    /// Re-execution is exact, not probabilistic: it is reported above Integrity's 96-bit floor.
    const SECURITY_BITS: u32 = 128;

    #[storage]
    struct Storage {
        program_hash: felt252,
        weights_commitment: felt252,
        registry: ContractAddress,
        input_len: u32,
        output_len: u32,
        stages: u32,
        stage_class: Map<u32, ClassHash>,
        sessions: felt252,
        session_owner: Map<felt252, ContractAddress>,
        session_stage: Map<felt252, u32>,
        session_commitment: Map<felt252, felt252>,
        session_input_hash: Map<felt252, felt252>,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        ClaimVerified: ClaimVerified,
        SessionStarted: SessionStarted,
    }

    #[derive(Drop, starknet::Event)]
    pub struct SessionStarted {
        #[key]
        pub session: felt252,
        pub input_hash: felt252,
    }

    #[derive(Drop, starknet::Event)]
    pub struct ClaimVerified {
        #[key]
        pub fact_hash: felt252,
        pub input_hash: felt252,
    }

    #[constructor]
    fn constructor(
        ref self: ContractState,
        program_hash: felt252,
        weights_commitment: felt252,
        registry: ContractAddress,
        input_len: u32,
        output_len: u32,
        stage_classes: Array<ClassHash>,
    ) {
        assert(stage_classes.len() > 0, 'cairn: no stages');
        self.program_hash.write(program_hash);
        self.weights_commitment.write(weights_commitment);
        self.registry.write(registry);
        self.input_len.write(input_len);
        self.output_len.write(output_len);
        self.stages.write(stage_classes.len());
        let mut i = 0;
        for c in stage_classes {
            self.stage_class.write(i, c);
            i += 1;
        }
    }

    fn run(self: @ContractState, first: u32, count: u32, input: Span<felt252>) -> Array<felt252> {
        assert(first + count <= self.stages.read(), 'cairn: no such stage');
        let mut live: Array<felt252> = array![];
        live.append_span(input);
        for i in first..first + count {
            let mut calldata = array![];
            live.serialize(ref calldata);
            let mut ret = library_call_syscall(
                self.stage_class.read(i), selector!("run"), calldata.span(),
            )
                .unwrap_syscall();
            live = Serde::<Array<felt252>>::deserialize(ref ret).expect('cairn: bad stage output');
        }
        live
    }

    fn fact_of(self: @ContractState, input_hash: felt252, outputs: Span<felt252>) -> felt252 {
        let mut public_output = array![input_hash];
        public_output.append_span(outputs);
        poseidon_hash_span(
            array![self.program_hash.read(), poseidon_hash_span(public_output.span())].span(),
        )
    }

    fn check_claim(self: @ContractState, outputs: Span<felt252>, claimed: Span<felt252>) {
        assert(claimed.len() == outputs.len(), 'cairn: wrong claim length');
        assert(outputs == claimed, 'cairn: outputs differ');
    }

    fn register(ref self: ContractState, input_hash: felt252, outputs: Span<felt252>) -> felt252 {
        let fact_hash = fact_of(@self, input_hash, outputs);
        let config = VerifierConfiguration {
            layout: 'cairn_reexecution',
            hasher: 'poseidon',
            stone_version: 'none',
            memory_verification: 'exact',
        };
        IFactRegistryDispatcher { contract_address: self.registry.read() }
            .register_fact(fact_hash, SECURITY_BITS, config);
        self.emit(ClaimVerified { fact_hash, input_hash });
        fact_hash
    }

    #[abi(embed_v0)]
    impl ModelVerifierImpl of super::IModelVerifier<ContractState> {
        fn verify_and_register(
            ref self: ContractState, input: Array<felt252>, claimed: Array<felt252>,
        ) -> felt252 {
            let input = input.span();
            tensor::check_inputs(input, self.input_len.read());
            let outputs = run(@self, 0, self.stages.read(), input);
            check_claim(@self, outputs.span(), claimed.span());
            register(ref self, poseidon_hash_span(input), outputs.span())
        }

        fn begin(ref self: ContractState, input: Array<felt252>) -> felt252 {
            let input = input.span();
            tensor::check_inputs(input, self.input_len.read());
            let caller = get_caller_address();
            let n = self.sessions.read() + 1;
            self.sessions.write(n);
            let session = poseidon_hash_span(array![caller.into(), n].span());
            let input_hash = poseidon_hash_span(input);
            self.session_owner.write(session, caller);
            self.session_stage.write(session, 0);
            self.session_commitment.write(session, input_hash);
            self.session_input_hash.write(session, input_hash);
            self.emit(SessionStarted { session, input_hash });
            session
        }

        fn advance(ref self: ContractState, session: felt252, count: u32, live: Array<felt252>) {
            assert(self.session_owner.read(session) == get_caller_address(), 'cairn: not your session');
            let stage = self.session_stage.read(session);
            let live = live.span();
            assert(
                poseidon_hash_span(live) == self.session_commitment.read(session),
                'cairn: live tensors differ',
            );
            let out = run(@self, stage, count, live);
            self.session_stage.write(session, stage + count);
            self.session_commitment.write(session, poseidon_hash_span(out.span()));
        }

        fn finish(ref self: ContractState, session: felt252, claimed: Array<felt252>) -> felt252 {
            assert(self.session_owner.read(session) == get_caller_address(), 'cairn: not your session');
            assert(
                self.session_stage.read(session) == self.stages.read(), 'cairn: stages left to run',
            );
            let claimed = claimed.span();
            assert(claimed.len() == self.output_len.read(), 'cairn: wrong claim length');
            assert(
                poseidon_hash_span(claimed) == self.session_commitment.read(session),
                'cairn: outputs differ',
            );
            // A session registers once.
            self.session_owner.write(session, 0.try_into().unwrap());
            register(ref self, self.session_input_hash.read(session), claimed)
        }

        fn run_stages(
            self: @ContractState, first: u32, count: u32, live: Array<felt252>,
        ) -> Array<felt252> {
            if first == 0 {
                tensor::check_inputs(live.span(), self.input_len.read());
            }
            run(self, first, count, live.span())
        }

        fn session(self: @ContractState, session: felt252) -> (u32, felt252) {
            (self.session_stage.read(session), self.session_commitment.read(session))
        }

        fn fact_hash(self: @ContractState, input: Array<felt252>, outputs: Array<felt252>) -> felt252 {
            fact_of(self, poseidon_hash_span(input.span()), outputs.span())
        }

        fn model(self: @ContractState) -> ModelInfo {
            ModelInfo {
                program_hash: self.program_hash.read(),
                weights_commitment: self.weights_commitment.read(),
                registry: self.registry.read(),
                stages: self.stages.read(),
                input_len: self.input_len.read(),
                output_len: self.output_len.read(),
            }
        }

        fn stage_class(self: @ContractState, index: u32) -> ClassHash {
            self.stage_class.read(index)
        }
    }
}