//! Query language.
pub mod ast;
