//! What the diagrams draw, shared by Mermaid and dot: failures alike in all but account and Region collapsed
//! into one node when their causes are one node too, grouped by stack set and account, and the edges to draw
//! (each failure's best cause, or every link). The text is plain here; each renderer escapes it. The choices
//! (what an edge means, the collapse rule, the bounds) are explained in docs/diagrams.md.

use std::collections::{BTreeMap, BTreeSet};

use super::model::distinct;
use super::model::{FailureOut, Report};
use super::Options;
use crate::text::{clip, shorten, wrap};
use crate::vocabulary::{FailureId, LinkKind};

/// The last bound on a diagram, after collapsing: beyond it the nodes farthest from a root cause are left out
/// (a comment and the legend say how many). Mermaid refuses a diagram over 50,000 characters by default; 100
/// nodes of at most a few hundred characters each stay under it (docs/diagrams.md#bounds).
pub const MAX_NODES: usize = 100;
/// A message in a label is clipped to this many characters,
const MESSAGE_CHARS: usize = 120;
/// and wrapped at word boundaries into lines of about this many.
const LINE_CHARS: usize = 45;

/// One node: one failure, or several alike ones drawn once.
pub struct Node<'r> {
    /// The failures this node stands for, in report order.
    pub members: Vec<&'r FailureOut>,
    /// Steps from a root cause along best causes (0 for a root cause).
    pub depth: usize,
}

impl<'r> Node<'r> {
    /// The node's id in the diagram: its first failure's (`F6`), unique since each failure is in one node.
    pub fn id(&self) -> FailureId {
        self.members[0].id
    }

    pub fn is_root(&self) -> bool {
        self.members[0].role == "root"
    }

    pub fn collapsed(&self) -> bool {
        self.members.len() > 1
    }

    pub fn stack_set(&self) -> Option<&'r str> {
        self.members[0].stack_set.as_deref()
    }

    pub fn accounts(&self) -> Vec<&'r str> {
        distinct(self.members.iter().map(|f| f.account.as_deref()))
    }

    pub fn regions(&self) -> Vec<&'r str> {
        distinct(self.members.iter().map(|f| f.region.as_deref()))
    }

    /// The label, line by line, unescaped: ids and what failed, role, category and status, where, the message.
    pub fn lines(&self) -> Vec<String> {
        let f = self.members[0];
        let ids: Vec<String> = self.members.iter().map(|m| m.id.to_string()).collect();
        let what = match (
            f.logical_id.is_some() && f.level != "stack",
            &f.resource_type,
        ) {
            (true, Some(t)) => format!("{} ({t})", f.what()),
            _ => f.what().to_owned(),
        };
        let mut lines = vec![format!("{} {what}", shorten(&ids, 3, 2, "failures"))];
        let statuses = distinct(self.members.iter().map(|m| Some(m.status.as_str())));
        let kind = format!("{} · {}", f.category, statuses.join("/"));
        lines.push(if self.is_root() {
            let roots = distinct(self.members.iter().map(|m| m.root_cause.as_deref()));
            if roots.is_empty() {
                format!("root cause · {kind}")
            } else {
                format!("root cause {} · {kind}", shorten(&roots, 3, 2, ""))
            }
        } else {
            kind
        });
        let regions = self.regions();
        let regions_text = |noun: &str| match regions.len() {
            0 => String::new(),
            1 => format!("{noun} {}", regions[0]),
            _ => format!("{noun}s {}", shorten(&regions, 3, 2, "")),
        };
        if self.collapsed() {
            let accounts = self.accounts().len();
            let count = if accounts == self.members.len() {
                format!("×{accounts} accounts")
            } else {
                format!(
                    "×{} in {accounts} account{}",
                    self.members.len(),
                    if accounts == 1 { "" } else { "s" }
                )
            };
            let regions = regions_text("Region");
            lines.push(if regions.is_empty() {
                count
            } else {
                format!("{count}, {regions}")
            });
        } else if !regions.is_empty() {
            lines.push(regions_text("Region"));
        }
        lines.extend(wrap(&clip(f.shown_message(), MESSAGE_CHARS), LINE_CHARS));
        lines
    }
}

/// An arrow from a cause to what it explains.
pub struct Edge {
    /// The cause's node (an index into [`View::nodes`]).
    pub from: usize,
    /// The explained failure's node.
    pub to: usize,
    pub kind: LinkKind,
    /// How many links between failures this edge stands for.
    pub links: usize,
}

impl Edge {
    /// The link kind; with `×k` when the edge is not one link per failure of the node it points to.
    pub fn label(&self, view: &View<'_>) -> String {
        if self.links == view.nodes[self.to].members.len() {
            self.kind.as_str().to_owned()
        } else {
            format!("{} ×{}", self.kind.as_str(), self.links)
        }
    }
}

/// The nodes of one stack set (or of none): those in one account, by account, and the others (operations,
/// nodes collapsed over several accounts) directly in it.
pub struct Group<'r> {
    pub stack_set: Option<&'r str>,
    pub direct: Vec<usize>,
    pub accounts: Vec<(&'r str, Vec<usize>)>,
}

/// What was left out by [`MAX_NODES`].
pub struct LeftOut {
    pub nodes: usize,
    pub failures: usize,
}

pub struct View<'r> {
    /// In report order of their first failure.
    pub nodes: Vec<Node<'r>>,
    pub edges: Vec<Edge>,
    /// In order of their first node.
    pub groups: Vec<Group<'r>>,
    /// Every link is drawn, not only best causes.
    pub all_links: bool,
    pub left_out: Option<LeftOut>,
}

impl<'r> View<'r> {
    pub fn new(r: &'r Report, opts: &Options) -> View<'r> {
        let mut nodes = collapse(r);
        // The last bound: keep the nodes nearest a root cause. A kept node's cause is nearer, so it is kept too.
        let mut left_out = None;
        if nodes.len() > MAX_NODES {
            let mut order: Vec<usize> = (0..nodes.len()).collect();
            order.sort_by_key(|&n| (nodes[n].depth, n));
            let dropped: BTreeSet<usize> = order[MAX_NODES..].iter().copied().collect();
            left_out = Some(LeftOut {
                nodes: dropped.len(),
                failures: dropped.iter().map(|&n| nodes[n].members.len()).sum(),
            });
            let mut keep = Vec::with_capacity(MAX_NODES);
            for (n, node) in nodes.into_iter().enumerate() {
                if !dropped.contains(&n) {
                    keep.push(node);
                }
            }
            nodes = keep;
        }
        let position: BTreeMap<FailureId, usize> = nodes
            .iter()
            .enumerate()
            .flat_map(|(n, node)| node.members.iter().map(move |f| (f.id, n)))
            .collect();
        let node_at = |id: FailureId| position.get(&id).copied();
        // (cause node, explained node, kind) → links.
        let mut edges: BTreeMap<(usize, usize, LinkKind), usize> = BTreeMap::new();
        let mut add = |cause: FailureId, effect: FailureId, kind: LinkKind| {
            if let (Some(a), Some(b)) = (node_at(cause), node_at(effect)) {
                // A link between two failures drawn as one node is not drawn (docs/diagrams.md).
                if a != b {
                    *edges.entry((a, b, kind)).or_default() += 1;
                }
            }
        };
        if opts.all_links {
            for l in &r.links {
                add(l.to, l.from, l.kind);
            }
        } else {
            for f in &r.failures {
                if let (Some(c), Some(l)) = (f.caused_by, &f.link) {
                    add(c, f.id, l.kind);
                }
            }
        }
        View {
            groups: groups(&nodes),
            nodes,
            edges: edges
                .into_iter()
                .map(|((from, to, kind), links)| Edge {
                    from,
                    to,
                    kind,
                    links,
                })
                .collect(),
            all_links: opts.all_links,
            left_out,
        }
    }

    /// How many failures the drawn nodes stand for.
    pub fn failures_shown(&self) -> usize {
        self.nodes.iter().map(|n| n.members.len()).sum()
    }
}

/// The collapse rule (docs/diagrams.md#collapse): failures with the same [`FailureOut::alike_key`] and role
/// whose best causes are in one node are one node. Walked from the root causes down, so a cause's node is known
/// before its consequences'. Gives the nodes in report order.
fn collapse(r: &Report) -> Vec<Node<'_>> {
    let index: BTreeMap<FailureId, usize> = r
        .failures
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id, i))
        .collect();
    let cause = |i: usize| r.failures[i].caused_by.and_then(|c| index.get(&c).copied());
    type Key<'a> = (
        (Option<&'a str>, &'a str, &'a str, &'a str),
        &'a str,
        Option<usize>,
    );
    let mut keys: BTreeMap<Key<'_>, usize> = BTreeMap::new();
    let mut node_of: Vec<Option<usize>> = vec![None; r.failures.len()];
    let mut nodes: Vec<Node<'_>> = Vec::new();
    for start in 0..r.failures.len() {
        // The chain of best causes up to a failure already placed, a root cause, or (never from a well-formed
        // report, but input must not loop) a failure already on the chain.
        let mut path = Vec::new();
        let mut on_path = BTreeSet::new();
        let mut cur = Some(start);
        while let Some(i) = cur {
            if node_of[i].is_some() || !on_path.insert(i) {
                break;
            }
            path.push(i);
            cur = cause(i);
        }
        for &i in path.iter().rev() {
            let f = &r.failures[i];
            let cause_node = cause(i).and_then(|c| node_of[c]);
            let key = (f.alike_key(), f.role, cause_node);
            let n = *keys.entry(key).or_insert_with(|| {
                nodes.push(Node {
                    members: Vec::new(),
                    depth: cause_node.map_or(0, |c| nodes[c].depth + 1),
                });
                nodes.len() - 1
            });
            nodes[n].members.push(f);
            node_of[i] = Some(n);
        }
    }
    // Report order: members by position, nodes by their first member.
    for n in &mut nodes {
        n.members.sort_by_key(|f| index[&f.id]);
    }
    nodes.sort_by_key(|n| index[&n.id()]);
    nodes
}

fn groups<'r>(nodes: &[Node<'r>]) -> Vec<Group<'r>> {
    let mut groups: Vec<Group<'r>> = Vec::new();
    let mut by_set: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for (n, node) in nodes.iter().enumerate() {
        let g = *by_set.entry(node.stack_set()).or_insert_with(|| {
            groups.push(Group {
                stack_set: node.stack_set(),
                direct: Vec::new(),
                accounts: Vec::new(),
            });
            groups.len() - 1
        });
        let g = &mut groups[g];
        match node.accounts()[..] {
            [account] => match g.accounts.iter_mut().find(|(a, _)| *a == account) {
                Some((_, v)) => v.push(n),
                None => g.accounts.push((account, vec![n])),
            },
            _ => g.direct.push(n),
        }
    }
    groups
}

/// The legend's lines, plain: the same words in both formats.
pub struct Legend;

impl Legend {
    pub const ROOT: &'static str = "root cause: fix this";
    pub const CONSEQUENCE: &'static str = "consequence: fails because of its cause";
    pub const COLLAPSED: &'static str =
        "×N accounts: N alike failures drawn once (same stack set, resource, category, message and cause)";

    /// What an arrow means, in the mode drawn.
    pub fn edge(all_links: bool) -> &'static str {
        if all_links {
            "any link found: cause → what it explains (label: link kind)"
        } else {
            "best cause → what it explains (label: link kind)"
        }
    }

    pub fn left_out(l: &LeftOut) -> String {
        format!(
            "{} more nodes ({} failures) farthest from a root cause are not drawn; all are in --format json",
            l.nodes, l.failures
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::model::LinkOut;

    /// A failure of the report model, as `Report::new` would give it.
    pub(crate) struct F {
        pub set: &'static str,
        pub account: &'static str,
        pub region: &'static str,
        pub logical: &'static str,
        pub category: &'static str,
        pub message: &'static str,
        /// The best cause: index of another `F` and the link kind.
        pub cause: Option<(usize, LinkKind)>,
    }

    impl Default for F {
        fn default() -> F {
            F {
                set: "org-baseline",
                account: "111111111111",
                region: "us-east-1",
                logical: "LogsBucket",
                category: "already-exists",
                message: "acme-logs already exists",
                cause: None,
            }
        }
    }

    pub(crate) fn report(fs: &[F]) -> Report {
        let empty = crate::diagnose(
            &crate::evidence::Evidence::default(),
            &crate::classify::Catalog::builtin().unwrap(),
            Vec::new(),
        );
        let mut r = Report::new(&empty);
        let mut roots = 0;
        for (i, f) in fs.iter().enumerate() {
            let id = FailureId(i);
            let link = f.cause.map(|(c, kind)| LinkOut {
                from: id,
                to: FailureId(c),
                kind,
                confidence: 0.9,
                reason: String::new(),
                matched: None,
            });
            if let Some(l) = &link {
                r.links.push(l.clone());
            }
            let root = if f.cause.is_none() {
                roots += 1;
                Some(format!("R{roots}"))
            } else {
                None
            };
            r.failures.push(FailureOut {
                id,
                level: "resource".into(),
                stack_set: Some(f.set.into()),
                account: Some(f.account.into()),
                region: Some(f.region.into()),
                stack_name: None,
                operation_id: None,
                logical_id: Some(f.logical.into()),
                resource_type: Some("AWS::S3::Bucket".into()),
                status: "CREATE_FAILED".into(),
                timestamp: None,
                message: f.message.into(),
                raw_message: f.message.into(),
                rule: None,
                matched_by: None,
                layer: None,
                category: f.category.into(),
                role: if f.cause.is_none() {
                    "root"
                } else {
                    "consequence"
                },
                rule_role: "unknown",
                caused_by: f.cause.map(|(c, _)| FailureId(c)),
                link,
                root_cause: root,
                fields: BTreeMap::new(),
                sources: Vec::new(),
                trail: None,
                lock_holder: None,
            });
        }
        r
    }

    fn cancelled(cause: usize, account: &'static str) -> F {
        F {
            account,
            logical: "LogsTopic",
            category: "cancelled-cascade",
            message: "Resource creation cancelled",
            cause: Some((cause, LinkKind::Cancellation)),
            ..F::default()
        }
    }

    fn members(v: &View<'_>) -> Vec<Vec<usize>> {
        v.nodes
            .iter()
            .map(|n| n.members.iter().map(|f| f.id.index()).collect())
            .collect()
    }

    /// Alike root causes in two accounts and their alike consequences become two nodes and one edge.
    #[test]
    fn alike_failures_with_one_cause_node_collapse() {
        let r = report(&[
            F::default(),
            cancelled(0, "111111111111"),
            F {
                account: "222222222222",
                region: "eu-west-1",
                ..F::default()
            },
            cancelled(2, "222222222222"),
        ]);
        let v = View::new(&r, &Options::default());
        assert_eq!(members(&v), vec![vec![0, 2], vec![1, 3]]);
        assert_eq!(v.edges.len(), 1);
        assert_eq!((v.edges[0].from, v.edges[0].to), (0, 1));
        assert_eq!(v.edges[0].label(&v), "cancellation");
        let lines = v.nodes[0].lines();
        assert_eq!(lines[0], "F1, F3 LogsBucket (AWS::S3::Bucket)");
        assert_eq!(
            lines[1],
            "root cause R1, R2 · already-exists · CREATE_FAILED"
        );
        assert_eq!(lines[2], "×2 accounts, Regions eu-west-1, us-east-1");
        // Collapsed over two accounts, the nodes sit in the stack set, not in an account.
        assert_eq!(v.groups.len(), 1);
        assert_eq!(v.groups[0].direct, vec![0, 1]);
        assert!(v.groups[0].accounts.is_empty());
    }

    /// Consequences alike in their own text but caused by different nodes stay apart; so do root causes in
    /// different stack sets or with different messages.
    #[test]
    fn different_causes_stack_sets_or_messages_stay_apart() {
        let r = report(&[
            F::default(),
            F {
                account: "222222222222",
                message: "other-logs already exists",
                ..F::default()
            },
            cancelled(0, "333333333333"),
            cancelled(1, "444444444444"),
            F {
                set: "org-security",
                account: "555555555555",
                ..F::default()
            },
        ]);
        let v = View::new(&r, &Options::default());
        assert_eq!(
            members(&v),
            vec![vec![0], vec![1], vec![2], vec![3], vec![4]]
        );
        assert_eq!(v.groups.len(), 2);
        // One node per account: each in its account's subgraph.
        assert_eq!(v.groups[0].accounts.len(), 4);
        assert_eq!(v.groups[1].stack_set, Some("org-security"));
        assert_eq!(v.nodes[0].lines()[2], "Region us-east-1");
    }

    /// By default each failure's best cause is one edge; `all_links` draws every link in the report.
    #[test]
    fn best_cause_edges_by_default_every_link_on_request() {
        let mut r = report(&[F::default(), cancelled(0, "111111111111"), {
            F {
                logical: "Stack",
                category: "stack-rollup",
                message: "The following resource(s) failed to create: [LogsBucket, LogsTopic]",
                cause: Some((0, LinkKind::Rollup)),
                ..F::default()
            }
        }]);
        r.links.push(LinkOut {
            from: FailureId(2),
            to: FailureId(1),
            kind: LinkKind::Rollup,
            confidence: 0.5,
            reason: String::new(),
            matched: None,
        });
        let best = View::new(&r, &Options::default());
        let pairs = |v: &View<'_>| -> Vec<(usize, usize)> {
            v.edges.iter().map(|e| (e.from, e.to)).collect()
        };
        assert_eq!(pairs(&best), vec![(0, 1), (0, 2)]);
        let all = View::new(
            &r,
            &Options {
                all_links: true,
                ..Options::default()
            },
        );
        assert_eq!(pairs(&all), vec![(0, 1), (0, 2), (1, 2)]);
        assert_ne!(Legend::edge(true), Legend::edge(false));
    }

    /// Beyond MAX_NODES the nodes farthest from a root cause are left out, and said to be.
    #[test]
    fn max_nodes_keeps_the_nearest_and_counts_the_rest() {
        const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
        let messages: Vec<&'static str> = (0..MAX_NODES)
            .map(|i| &*Box::leak(format!("bucket-{i} already exists").into_boxed_str()))
            .collect();
        let mut fs = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            fs.push(F {
                account: ACCOUNTS[i % 3],
                message: m,
                ..F::default()
            });
            fs.push(cancelled(2 * i, ACCOUNTS[i % 3]));
        }
        let r = report(&fs);
        let v = View::new(&r, &Options::default());
        assert_eq!(v.nodes.len(), MAX_NODES);
        assert!(v.nodes.iter().all(|n| n.is_root()));
        let l = v.left_out.as_ref().expect("something is left out");
        assert_eq!((l.nodes, l.failures), (MAX_NODES, MAX_NODES));
        assert!(v.edges.is_empty(), "no edge to a node not drawn");
        assert_eq!(v.failures_shown(), MAX_NODES);
        assert!(Legend::left_out(l).contains("100 more nodes (100 failures)"));
    }

    /// A cause that loops or names no failure (never from the pipeline, but a report is data) is drawn
    /// without hanging or panicking.
    #[test]
    fn a_loop_or_a_missing_cause_is_drawn_without_hanging() {
        let mut r = report(&[cancelled(1, "111111111111"), cancelled(0, "111111111111")]);
        let v = View::new(&r, &Options::default());
        assert_eq!(v.failures_shown(), 2);
        assert_eq!(v.edges.len(), 2);
        r.failures[0].caused_by = Some(FailureId(7));
        let v = View::new(&r, &Options::default());
        assert_eq!(v.failures_shown(), 2);
        assert_eq!(v.edges.len(), 1, "no edge to a failure not in the report");
    }

    /// Messages are clipped and wrapped; empty ones say so.
    #[test]
    fn messages_are_clipped_and_wrapped() {
        let long = "word ".repeat(40);
        let w = wrap(&clip(&long, MESSAGE_CHARS), LINE_CHARS);
        assert!(w.iter().all(|l| l.chars().count() <= LINE_CHARS));
        assert!(w.last().unwrap().ends_with('…'));
        assert!(w.iter().map(|l| l.chars().count()).sum::<usize>() <= MESSAGE_CHARS);
        assert_eq!(
            wrap("a arn:aws:iam::1:role/x", 5),
            vec!["a", "arn:aws:iam::1:role/x"]
        );
        let r = report(&[F {
            message: "",
            ..F::default()
        }]);
        let v = View::new(&r, &Options::default());
        assert_eq!(v.nodes[0].lines().last().unwrap(), "(no status reason)");
    }
}
