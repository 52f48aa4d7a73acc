//! AWS Organizations: the organization, each failing account's path to the root, and the SCPs/RCPs attached
//! along it (with where each is attached), so `diagnose` evaluates the real levels.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use aws_sdk_organizations::types::{AccountStatus, ChildType, PolicyType};
use futures_util::stream::{self, StreamExt};

use super::{limits, src, Ctx};
use crate::collect::aws::{describe_error, error_code};
use crate::evidence::{AccountPath, Evidence, OrgPolicy, Organization};
use crate::vocabulary::status;

/// Policies attached to a node (account, OU or root): (policy id, policy type).
type Attached = Vec<(String, String)>;

impl Ctx<'_> {
    /// The organization, each failing account's path to the root, and the SCPs/RCPs attached along it.
    pub(super) async fn organization(&self, accounts: &BTreeSet<String>, ev: &mut Evidence) {
        let orgs = self.sdk.organizations();
        {
            let _p = self.sem.acquire().await;
            match orgs.describe_organization().send().await {
                Ok(out) => {
                    ev.organization = out.organization().map(|o| Organization {
                        id: o.id().map(str::to_owned),
                        management_account: o.master_account_id().map(str::to_owned),
                    })
                }
                Err(e) => {
                    self.gap(
                        "organization",
                        format!(
                            "organizations:DescribeOrganization: {}; SCPs/RCPs were not collected (call from the \
                             management account or a delegated administrator for Organizations, or pass --scp FILE)",
                            describe_error(&e)
                        ),
                    );
                    return;
                }
            }
        }
        // Parents and attachments are shared by many accounts: ask once per node.
        let mut attached: BTreeMap<String, Attached> = BTreeMap::new();
        for account in accounts {
            // A path that stops short of the root would mislead the evaluator: keep complete ones only.
            let Some(path) = self.path_to_root(&orgs, account).await else {
                continue;
            };
            for target in std::iter::once(account.clone()).chain(path.iter().cloned()) {
                if let std::collections::btree_map::Entry::Vacant(slot) = attached.entry(target) {
                    let list = self.policies_on(&orgs, slot.key()).await;
                    slot.insert(list);
                }
            }
            ev.account_paths.push(AccountPath {
                account: account.clone(),
                parents: path,
            });
        }
        // AWS's own FullAWSAccess is attached everywhere and denies nothing: keep it, the evaluator needs the Allow.
        ev.policies
            .extend(self.describe_policies(&orgs, &attached).await);
    }

    /// For a preflight: the accounts of the OUs each service-managed stack set's newest described deployment
    /// targeted (`DeploymentTargets.OrganizationalUnitIds`, with their sub-OUs), suspended ones left out — the
    /// accounts it deploys to that may have no instance yet (docs/preflight.md#live). An OU that cannot be listed
    /// is a gap (`organizational unit <id>`), which the preflight reports as not checked.
    pub(super) async fn ou_accounts(&self, ev: &Evidence) -> BTreeSet<String> {
        let service_managed: BTreeSet<&str> = ev
            .stack_sets
            .iter()
            .filter(|s| {
                s.permission_model
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case("SERVICE_MANAGED"))
            })
            .map(|s| s.name.as_str())
            .collect();
        let ous: BTreeSet<String> = ev
            .operations
            .iter()
            .filter(|o| {
                o.stack_set
                    .as_deref()
                    .is_some_and(|s| service_managed.contains(s))
                    && status::is_deployment(o.action.as_deref())
            })
            .filter_map(|o| o.deployment_targets.as_ref())
            .flat_map(|t| t.organizational_units.iter().cloned())
            .collect();
        let orgs = self.sdk.organizations();
        let mut accounts = BTreeSet::new();
        let mut todo: Vec<(String, usize)> = ous.into_iter().map(|o| (o, 0)).collect();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        while let Some((parent, depth)) = todo.pop() {
            if !seen.insert(parent.clone()) || depth > limits::ORGANIZATION_DEPTH {
                continue;
            }
            let _p = self.sem.acquire().await;
            let pages = orgs
                .list_accounts_for_parent()
                .parent_id(&parent)
                .into_paginator()
                .send();
            self.drain(
                pages,
                |e| {
                    Some((
                        format!("organizational unit {parent}"),
                        format!(
                            "organizations:ListAccountsForParent: {}; its accounts without a stack instance are not \
                             checked",
                            describe_error(e)
                        ),
                    ))
                },
                |page| {
                    for a in page.accounts() {
                        if a.status() != Some(&AccountStatus::Suspended) {
                            if let Some(id) = a.id() {
                                accounts.insert(id.to_owned());
                            }
                        }
                    }
                    ControlFlow::Continue(())
                },
            )
            .await;
            let pages = orgs
                .list_children()
                .parent_id(&parent)
                .child_type(ChildType::OrganizationalUnit)
                .into_paginator()
                .send();
            self.drain(
                pages,
                |e| {
                    Some((
                        format!("organizational unit {parent}"),
                        format!(
                            "organizations:ListChildren (ORGANIZATIONAL_UNIT): {}; the accounts of its child OUs \
                             without a stack instance are not checked",
                            describe_error(e)
                        ),
                    ))
                },
                |page| {
                    for c in page.children() {
                        if let Some(id) = c.id() {
                            todo.push((id.to_owned(), depth + 1));
                        }
                    }
                    ControlFlow::Continue(())
                },
            )
            .await;
        }
        accounts
    }

    /// The account's parents, nearest first, ending at the root; None (and a gap) when a call failed.
    async fn path_to_root(
        &self,
        orgs: &aws_sdk_organizations::Client,
        account: &str,
    ) -> Option<Vec<String>> {
        let mut path = Vec::new();
        let mut child = account.to_owned();
        for _ in 0..limits::ORGANIZATION_DEPTH {
            let _p = self.sem.acquire().await;
            match orgs.list_parents().child_id(&child).send().await {
                Ok(out) => match out.parents().first().and_then(|p| p.id()) {
                    Some(id) => {
                        path.push(id.to_owned());
                        if id.starts_with("r-") {
                            break;
                        }
                        child = id.to_owned();
                    }
                    None => break,
                },
                Err(e) => {
                    self.gap(
                        format!("account {account}"),
                        format!(
                            "organizations:ListParents {child}: {}; its SCP path is incomplete",
                            describe_error(&e)
                        ),
                    );
                    return None;
                }
            }
        }
        Some(path)
    }

    /// The SCPs and RCPs attached to one node.
    async fn policies_on(&self, orgs: &aws_sdk_organizations::Client, target: &str) -> Attached {
        let mut list = Vec::new();
        for ty in [
            PolicyType::ServiceControlPolicy,
            PolicyType::ResourceControlPolicy,
        ] {
            let _p = self.sem.acquire().await;
            let pages = orgs
                .list_policies_for_target()
                .target_id(target)
                .filter(ty.clone())
                .into_paginator()
                .send();
            self.drain(
                pages,
                |e| {
                    // RCPs may simply not be enabled: not worth a gap of their own.
                    let rcp_off = ty == PolicyType::ResourceControlPolicy
                        && error_code(e) == Some("PolicyTypeNotEnabledException");
                    (!rcp_off).then(|| {
                        (
                            format!("policies on {target}"),
                            format!(
                                "organizations:ListPoliciesForTarget ({}): {}",
                                ty.as_str(),
                                describe_error(e)
                            ),
                        )
                    })
                },
                |p| {
                    for pol in p.policies() {
                        if let Some(id) = pol.id() {
                            list.push((id.to_owned(), ty.as_str().to_owned()));
                        }
                    }
                    ControlFlow::Continue(())
                },
            )
            .await;
        }
        list
    }

    /// Every policy attached somewhere on the paths, once, with the nodes it is attached to.
    async fn describe_policies(
        &self,
        orgs: &aws_sdk_organizations::Client,
        attached: &BTreeMap<String, Attached>,
    ) -> Vec<OrgPolicy> {
        let mut by_policy: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for (target, list) in attached {
            for (id, ty) in list {
                by_policy
                    .entry(id.clone())
                    .or_insert_with(|| (ty.clone(), Vec::new()))
                    .1
                    .push(target.clone());
            }
        }
        let fetched: Vec<Option<OrgPolicy>> = stream::iter(by_policy)
            .map(|(id, (ty, targets))| {
                let orgs = orgs.clone();
                async move {
                    let _p = self.sem.acquire().await;
                    match orgs.describe_policy().policy_id(&id).send().await {
                        Ok(out) => out.policy().map(|p| {
                            let s = p.policy_summary();
                            OrgPolicy {
                                id: Some(id.clone()),
                                arn: s.and_then(|s| s.arn()).map(str::to_owned),
                                name: s.and_then(|s| s.name()).map(str::to_owned),
                                policy_type: s
                                    .and_then(|s| s.r#type())
                                    .map(|t| t.as_str().to_owned())
                                    .unwrap_or(ty),
                                content: p.content().unwrap_or_default().to_owned(),
                                targets,
                                source: src(
                                    "live:organizations/DescribePolicy".into(),
                                    format!("/{id}"),
                                ),
                            }
                        }),
                        Err(e) => {
                            self.gap(
                                format!("policy {id}"),
                                format!("organizations:DescribePolicy: {}", describe_error(&e)),
                            );
                            None
                        }
                    }
                }
            })
            .buffer_unordered(self.o.concurrency.max(1))
            .collect()
            .await;
        fetched.into_iter().flatten().collect()
    }
}
