//! Rego policies on regorus' bytecode VM.
//!
//! Each slot holds a compiled program; the slot map is swapped atomically on install,
//! so evaluation takes no lock: it loads the map and runs the program on the worker
//! thread's VM.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use serde_json::Value;

use crate::domain::policy::PolicyDecision;
use crate::ports::{Candidate, PolicyEngine};

/// The embedded default policy (same decisions as the reference's).
pub const DEFAULT_POLICY: &str = include_str!("default_policy.rego");

const ENTRY_POINT: &str = "data.intentgate.policy.decision";

/// Compiled policies by tenant slot; `""` is the default.
pub struct RegoPolicies {
    slots: ArcSwap<HashMap<String, Arc<Program>>>,
}

impl RegoPolicies {
    /// An engine whose default slot runs `default_source`.
    pub fn new(default_source: &str) -> Result<Self, String> {
        let program = compile(default_source)?;
        let slots = HashMap::from([(String::new(), program)]);
        Ok(Self {
            slots: ArcSwap::from_pointee(slots),
        })
    }

    fn update(&self, change: impl Fn(&mut HashMap<String, Arc<Program>>)) {
        self.slots.rcu(|current| {
            let mut next = HashMap::clone(current);
            change(&mut next);
            next
        });
    }
}

fn compile(source: &str) -> Result<Arc<Program>, String> {
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(false);
    engine
        .add_policy("intentgate_policy.rego".into(), source.into())
        .map_err(|e| e.to_string())?;
    let compiled = engine
        .compile_with_entrypoint(&ENTRY_POINT.into())
        .map_err(|e| e.to_string())?;
    Compiler::compile_from_policy(&compiled, &[ENTRY_POINT]).map_err(|e| e.to_string())
}

impl PolicyEngine for RegoPolicies {
    fn compile_check(&self, source: &str) -> Result<(), String> {
        compile(source).map(|_| ())
    }

    fn candidate(&self, source: &str) -> Result<Candidate, String> {
        let program = compile(source)?;
        Ok(Box::new(move |input| decide(&program, input)))
    }

    fn install(&self, slot: &str, source: &str) -> Result<(), String> {
        let program = compile(source)?;
        self.update(|slots| {
            slots.insert(slot.to_owned(), Arc::clone(&program));
        });
        Ok(())
    }

    fn remove(&self, slot: &str) {
        if !slot.is_empty() {
            self.update(|slots| {
                slots.remove(slot);
            });
        }
    }

    fn evaluate(&self, tenant: &str, input: Value) -> Result<PolicyDecision, String> {
        let slots = self.slots.load();
        let program = slots
            .get(tenant)
            .or_else(|| slots.get(""))
            .ok_or("policy: reloader has no engine loaded")?;
        decide(program, input)
    }
}

fn decide(program: &Arc<Program>, input: Value) -> Result<PolicyDecision, String> {
    let result = run_program(program, regorus::Value::from(input))
        .map_err(|e| format!("policy: eval: {e}"))?;
    if result == regorus::Value::Undefined {
        return PolicyDecision::from_value(None);
    }
    let json = serde_json::to_value(&result).map_err(|e| format!("policy: eval: {e}"))?;
    PolicyDecision::from_value(Some(&json))
}

thread_local! {
    /// A VM per worker thread, kept loaded with the program it last ran: loading a
    /// program costs about as much as running this policy.
    static VM: std::cell::RefCell<Option<(*const Program, RegoVM)>> = const { std::cell::RefCell::new(None) };
}

fn run_program(program: &Arc<Program>, input: regorus::Value) -> Result<regorus::Value, String> {
    VM.with(|cell| {
        let mut slot = cell.borrow_mut();
        let reusable = matches!(&*slot, Some((loaded, _)) if *loaded == Arc::as_ptr(program));
        if !reusable {
            let mut vm = RegoVM::new();
            vm.load_program(Arc::clone(program));
            *slot = Some((Arc::as_ptr(program), vm));
        }
        let Some((_, vm)) = slot.as_mut() else {
            return Err("policy VM unavailable".into());
        };
        vm.set_input(input);
        vm.execute().map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests;
