//! Migration ordering: dependencies first, ties broken by priority then name.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub depends_on: Vec<String>,
    pub priority: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    Duplicate(String),
    UnknownDependency {
        migration: String,
        dependency: String,
    },
    /// The names along one cycle, first repeated at the end.
    Cycle(Vec<String>),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Duplicate(n) => write!(f, "migration \"{n}\" is defined more than once"),
            PlanError::UnknownDependency { migration, dependency } => {
                write!(f, "migration \"{migration}\" depends on unknown migration \"{dependency}\"")
            }
            PlanError::Cycle(names) => write!(f, "dependency cycle: {}", names.join(" -> ")),
        }
    }
}

/// Indices of `nodes` in execution order (Kahn's algorithm; among ready migrations the
/// lowest priority value runs first, then the smallest name).
pub fn order(nodes: &[Node]) -> Result<Vec<usize>, PlanError> {
    let mut index = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        if index.insert(n.name.as_str(), i).is_some() {
            return Err(PlanError::Duplicate(n.name.clone()));
        }
    }
    let mut waiting = vec![0usize; nodes.len()];
    let mut dependents = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for d in n.depends_on.iter().collect::<BTreeSet<_>>() {
            let Some(&j) = index.get(d.as_str()) else {
                return Err(PlanError::UnknownDependency {
                    migration: n.name.clone(),
                    dependency: d.clone(),
                });
            };
            waiting[i] += 1;
            dependents[j].push(i);
        }
    }
    let key = |i: usize| (nodes[i].priority, nodes[i].name.clone(), i);
    let mut ready: BTreeSet<_> = (0..nodes.len()).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut out = Vec::with_capacity(nodes.len());
    while let Some(first) = ready.pop_first() {
        let i = first.2;
        out.push(i);
        for &j in &dependents[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.insert(key(j));
            }
        }
    }
    if out.len() == nodes.len() {
        return Ok(out);
    }
    Err(PlanError::Cycle(find_cycle(nodes, &index, &waiting)))
}

/// Follow unmet dependencies from a blocked node until a name repeats.
fn find_cycle(nodes: &[Node], index: &HashMap<&str, usize>, waiting: &[usize]) -> Vec<String> {
    let start = (0..nodes.len()).filter(|&i| waiting[i] > 0).min_by_key(|&i| &nodes[i].name).unwrap_or(0);
    let mut path = vec![start];
    loop {
        let cur = *path.last().unwrap_or(&start);
        let next = nodes[cur]
            .depends_on
            .iter()
            .filter_map(|d| index.get(d.as_str()).copied())
            .filter(|&j| waiting[j] > 0)
            .min_by_key(|&j| &nodes[j].name);
        let Some(next) = next else { break };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle: Vec<String> = path[pos..].iter().map(|&p| nodes[p].name.clone()).collect();
            cycle.push(nodes[next].name.clone());
            // Dependencies point backwards in time: show the cycle in execution direction.
            cycle.reverse();
            return cycle;
        }
        path.push(next);
    }
    path.iter().map(|&p| nodes[p].name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(name: &str, deps: &[&str], priority: i64) -> Node {
        Node {
            name: name.into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            priority,
        }
    }
    fn names(nodes: &[Node]) -> Vec<String> {
        order(nodes).unwrap().into_iter().map(|i| nodes[i].name.clone()).collect()
    }

    #[test]
    fn diamond_runs_dependencies_first() {
        let nodes = [n("d", &["b", "c"], 100), n("b", &["a"], 100), n("c", &["a"], 100), n("a", &[], 100)];
        assert_eq!(names(&nodes), ["a", "b", "c", "d"]);
    }

    #[test]
    fn ties_by_priority_then_name() {
        let nodes = [n("z", &[], 1), n("b", &[], 100), n("a", &[], 100), n("m", &["z"], 0)];
        assert_eq!(names(&nodes), ["z", "m", "a", "b"]);
    }

    #[test]
    fn cycles_are_named() {
        let nodes = [n("a", &["c"], 100), n("b", &["a"], 100), n("c", &["b"], 100), n("x", &[], 100)];
        assert_eq!(order(&nodes), Err(PlanError::Cycle(vec!["a".into(), "b".into(), "c".into(), "a".into()])));
        let nodes = [n("self", &["self"], 100)];
        assert_eq!(order(&nodes), Err(PlanError::Cycle(vec!["self".into(), "self".into()])));
    }

    #[test]
    fn unknown_and_duplicate() {
        assert!(matches!(order(&[n("a", &["ghost"], 1)]), Err(PlanError::UnknownDependency { .. })));
        assert_eq!(order(&[n("a", &[], 1), n("a", &[], 2)]), Err(PlanError::Duplicate("a".into())));
    }
}
