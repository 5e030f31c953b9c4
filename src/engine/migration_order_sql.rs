//! The SQL function migration_order(graph): dependency order over the plain logic in
//! `migration_order`.

use crate::engine::migration_order::{self, Node};
use crate::jsonb::view::JsonView;
use crate::jsonb::Jsonb;
use crate::pg::errors::raise;
use pgrx::prelude::*;

/// `[{"name", "depends_on": [names], "priority"}]` → names in execution order.
/// Unknown dependencies, duplicates and cycles (named) are 22023.
#[pg_extern(immutable, strict, parallel_safe, sql = false)]
fn migration_order(graph: Jsonb) -> Vec<String> {
    let nodes: Vec<Node> = graph
        .root()
        .elements()
        .into_iter()
        .map(|m| Node {
            name: m.get("name").and_then(|n| n.text()).map(|n| n.into_owned()).unwrap_or_default(),
            depends_on: m
                .get("depends_on")
                .map(|d| d.elements())
                .unwrap_or_default()
                .iter()
                .filter_map(|d| d.text().map(|t| t.into_owned()))
                .collect(),
            priority: m.get("priority").and_then(|p| p.text()).and_then(|p| p.parse().ok()).unwrap_or(100),
        })
        .collect();
    match migration_order::order(&nodes) {
        Ok(order) => order.into_iter().map(|i| nodes[i].name.clone()).collect(),
        Err(e) => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            e.to_string(),
            None,
            Some("Every dependency must be a registered migration, and dependencies may not form a cycle."),
        ),
    }
}
