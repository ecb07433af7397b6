//! The action registry: every action the log knows, by id. Registering an id
//! twice is an error.

use std::collections::HashMap;
use std::sync::Arc;

use crate::action::{Action, ActionSource, ActionSpec};
use crate::builtin::builtin_actions;
use crate::error::RegistryError;

#[derive(Debug, Default, Clone)]
pub struct ActionRegistry {
    order: Vec<Arc<ActionSpec>>,
    by_id: HashMap<String, Arc<ActionSpec>>,
}

impl ActionRegistry {
    /// A registry with no actions at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry holding every built-in action.
    pub fn with_builtins() -> Self {
        let mut r = Self::empty();
        for a in builtin_actions() {
            r.register_from(&a, ActionSource::BuiltIn).expect("built-in actions are valid and unique");
        }
        r
    }

    /// Registers an action implemented in code.
    pub fn register(&mut self, action: &dyn Action) -> Result<(), RegistryError> {
        self.register_from(action, ActionSource::Code)
    }

    pub(crate) fn register_from(&mut self, action: &dyn Action, source: ActionSource) -> Result<(), RegistryError> {
        if self.by_id.contains_key(action.id()) {
            return Err(RegistryError::DuplicateId(action.id().to_owned()));
        }
        let spec = Arc::new(ActionSpec::compile(action, source)?);
        self.by_id.insert(spec.id().to_owned(), spec.clone());
        self.order.push(spec);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Arc<ActionSpec>> {
        self.by_id.get(id)
    }

    /// Actions in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ActionSpec>> {
        self.order.iter()
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}
