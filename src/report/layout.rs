//! A layered layout of the causal graph's best-cause forest, for drawing it without a layout engine: every
//! failure has at most one best cause (`caused_by`), so the graph is a forest and a tidy tree layout is exact —
//! depth is the column, leaves take one row each in order, a parent sits at the middle of its children
//! (docs/report-html.md#the-causal-graph). Alike siblings collapse into one node at scale.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{FailureOut, Report};
use crate::vocabulary::FailureId;

/// Above this many failures, alike siblings (same stack set, resource, category and message) are one node.
pub const COLLAPSE_ABOVE: usize = 40;
/// At most this many nodes are laid out; the rest are counted.
pub const MAX_NODES: usize = 150;
/// Chains deeper than this are cut (the JSON report has everything).
pub const MAX_DEPTH: usize = 24;

#[derive(Debug, Clone)]
pub struct Node<'r> {
    /// The failures the node stands for (one, or alike siblings), the first being shown.
    pub failures: Vec<&'r FailureOut>,
    /// Column: 0 for the forest's roots.
    pub depth: usize,
    /// Row, in units of one leaf (a parent sits between its first and last child).
    pub row: f32,
    /// The node's parent in `nodes`, and how it explains this one.
    pub parent: Option<usize>,
    pub link: Option<&'static str>,
}

impl Node<'_> {
    pub fn first(&self) -> &FailureOut {
        self.failures[0]
    }

    pub fn is_root(&self) -> bool {
        self.first().role == "root"
    }
}

#[derive(Debug, Clone)]
pub struct Layout<'r> {
    pub nodes: Vec<Node<'r>>,
    /// Columns and rows used.
    pub columns: usize,
    pub rows: usize,
    /// Failures in no node (beyond [`MAX_NODES`] or [`MAX_DEPTH`]).
    pub hidden: usize,
    pub collapsed: bool,
}

fn alike_key(f: &FailureOut) -> (Option<&str>, &str, &str, &str) {
    (
        f.stack_set.as_deref(),
        f.what(),
        f.category.as_str(),
        f.message.as_str(),
    )
}

/// Group items alike, in first-seen order (or one group per item when not collapsing).
fn groups(items: Vec<&FailureOut>, collapse: bool) -> Vec<Vec<&FailureOut>> {
    if !collapse {
        return items.into_iter().map(|f| vec![f]).collect();
    }
    let mut out: Vec<Vec<&FailureOut>> = Vec::new();
    let mut index: BTreeMap<_, usize> = BTreeMap::new();
    for f in items {
        match index.get(&alike_key(f)) {
            Some(&i) => out[i].push(f),
            None => {
                index.insert(alike_key(f), out.len());
                out.push(vec![f]);
            }
        }
    }
    out
}

struct Builder<'r> {
    children: BTreeMap<FailureId, Vec<&'r FailureOut>>,
    collapse: bool,
    nodes: Vec<Node<'r>>,
    seen: BTreeSet<FailureId>,
    next_row: usize,
    shown: usize,
}

impl<'r> Builder<'r> {
    /// Place a group and its subtree; returns its node's index, or None when the node budget is spent.
    fn place(
        &mut self,
        group: Vec<&'r FailureOut>,
        depth: usize,
        parent: Option<usize>,
    ) -> Option<usize> {
        if self.nodes.len() >= MAX_NODES || depth > MAX_DEPTH {
            return None;
        }
        let group: Vec<&FailureOut> = group
            .into_iter()
            .filter(|f| self.seen.insert(f.id))
            .collect();
        if group.is_empty() {
            return None;
        }
        self.shown += group.len();
        let at = self.nodes.len();
        let link = group[0].link.as_ref().map(|l| l.kind.as_str());
        self.nodes.push(Node {
            failures: group.clone(),
            depth,
            row: 0.0,
            parent,
            link: parent.and(link),
        });
        let mut kids: Vec<&FailureOut> = group
            .iter()
            .filter_map(|f| self.children.get(&f.id))
            .flatten()
            .copied()
            .filter(|k| !self.seen.contains(&k.id))
            .collect();
        kids.sort_by_key(|f| (f.level_rank(), f.id));
        let mut placed = Vec::new();
        for g in groups(kids, self.collapse) {
            if let Some(i) = self.place(g, depth + 1, Some(at)) {
                placed.push(i);
            }
        }
        self.nodes[at].row = match (placed.first(), placed.last()) {
            (Some(&a), Some(&b)) => (self.nodes[a].row + self.nodes[b].row) / 2.0,
            _ => {
                self.next_row += 1;
                (self.next_row - 1) as f32
            }
        };
        Some(at)
    }
}

/// Lay out the forest of best causes: root causes first (in the report's order), then any failure without a
/// cause that is not one.
pub fn layout(r: &Report) -> Layout<'_> {
    let collapse = r.failures.len() > COLLAPSE_ABOVE;
    let mut children: BTreeMap<FailureId, Vec<&FailureOut>> = BTreeMap::new();
    for f in &r.failures {
        if let Some(c) = f.caused_by {
            children.entry(c).or_default().push(f);
        }
    }
    let by_id: BTreeMap<FailureId, &FailureOut> = r.failures.iter().map(|f| (f.id, f)).collect();
    let mut tops: Vec<&FailureOut> = r
        .root_causes
        .iter()
        .filter_map(|rc| by_id.get(&rc.failure).copied())
        .collect();
    let listed: BTreeSet<FailureId> = tops.iter().map(|f| f.id).collect();
    tops.extend(r.failures.iter().filter(|f| {
        !listed.contains(&f.id) && !f.caused_by.is_some_and(|c| by_id.contains_key(&c))
    }));
    let mut b = Builder {
        children,
        collapse,
        nodes: Vec::new(),
        seen: BTreeSet::new(),
        next_row: 0,
        shown: 0,
    };
    for g in groups(tops, collapse) {
        b.place(g, 0, None);
    }
    let columns = b.nodes.iter().map(|n| n.depth + 1).max().unwrap_or(0);
    Layout {
        columns,
        rows: b.next_row,
        hidden: r.failures.len().saturating_sub(b.shown),
        collapsed: collapse,
        nodes: b.nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::timeline::tests::{failure, report};

    fn caused(mut f: FailureOut, by: usize) -> FailureOut {
        f.caused_by = Some(FailureId(by));
        f
    }

    #[test]
    fn a_parent_sits_between_its_children_one_column_per_depth() {
        let r = report(vec![
            failure(0, "a", Some("111111111111"), "CREATE_FAILED", Some(1), true),
            caused(
                failure(
                    1,
                    "a",
                    Some("111111111111"),
                    "CREATE_FAILED",
                    Some(2),
                    false,
                ),
                0,
            ),
            caused(
                failure(
                    2,
                    "b",
                    Some("222222222222"),
                    "CREATE_FAILED",
                    Some(3),
                    false,
                ),
                1,
            ),
            caused(
                failure(
                    3,
                    "b",
                    Some("333333333333"),
                    "CREATE_FAILED",
                    Some(3),
                    false,
                ),
                1,
            ),
            // Independent, and no root cause of the report: still drawn, after the root causes' trees.
            failure(
                4,
                "c",
                Some("444444444444"),
                "CREATE_FAILED",
                Some(4),
                false,
            ),
        ]);
        let l = layout(&r);
        assert_eq!((l.columns, l.rows, l.hidden, l.collapsed), (3, 3, 0, false));
        let row = |id: usize| {
            let n = l
                .nodes
                .iter()
                .find(|n| n.first().id == FailureId(id))
                .unwrap();
            (n.depth, n.row, n.parent.map(|p| l.nodes[p].first().id))
        };
        assert_eq!(row(2), (2, 0.0, Some(FailureId(1))));
        assert_eq!(row(3), (2, 1.0, Some(FailureId(1))));
        assert_eq!(row(1), (1, 0.5, Some(FailureId(0))));
        assert_eq!(row(0), (0, 0.5, None));
        assert_eq!(row(4), (0, 2.0, None));
    }

    #[test]
    fn alike_siblings_are_one_node_at_scale() {
        let mut fs = vec![failure(
            0,
            "a",
            Some("111111111111"),
            "CREATE_FAILED",
            Some(1),
            true,
        )];
        for n in 1..=100 {
            let mut f = failure(
                n,
                "b",
                Some(&format!("{:012}", n)),
                "CREATE_FAILED",
                Some(2),
                false,
            );
            f.logical_id = Some("Role".into());
            f.message = "Invalid principal in policy".into();
            fs.push(caused(f, 0));
        }
        let r = report(fs);
        let l = layout(&r);
        assert!(l.collapsed);
        assert_eq!(l.nodes.len(), 2);
        assert_eq!(l.nodes[1].failures.len(), 100);
        assert_eq!(l.hidden, 0);
    }

    #[test]
    fn a_cycle_without_a_root_is_counted_not_followed() {
        let r = report(vec![
            caused(
                failure(
                    0,
                    "a",
                    Some("111111111111"),
                    "CREATE_FAILED",
                    Some(1),
                    false,
                ),
                1,
            ),
            caused(
                failure(
                    1,
                    "a",
                    Some("111111111111"),
                    "CREATE_FAILED",
                    Some(2),
                    false,
                ),
                0,
            ),
        ]);
        let l = layout(&r);
        assert!(l.nodes.is_empty());
        assert_eq!(l.hidden, 2);
    }

    #[test]
    fn the_node_budget_holds() {
        let mut fs = vec![failure(
            0,
            "a",
            Some("111111111111"),
            "CREATE_FAILED",
            Some(1),
            true,
        )];
        // A chain deeper than MAX_DEPTH, then many distinct leaves.
        for n in 1..400 {
            let parent = if n < 60 { n - 1 } else { 0 };
            let mut f = failure(
                n,
                "a",
                Some("111111111111"),
                "CREATE_FAILED",
                Some(2),
                false,
            );
            f.message = format!("distinct {n}");
            fs.push(caused(f, parent));
        }
        let r = report(fs);
        let l = layout(&r);
        assert!(l.nodes.len() <= MAX_NODES);
        assert!(l.nodes.iter().all(|n| n.depth <= MAX_DEPTH));
        assert_eq!(
            l.hidden + l.nodes.iter().map(|n| n.failures.len()).sum::<usize>(),
            400
        );
    }
}
