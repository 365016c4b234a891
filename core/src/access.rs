//! The access model: one decision function, [`can`], over (subject, action, resource).
//!
//! This is the single source of truth for who may do what (API.md section 7). The API engine
//! asks it before every operation, and the browser package exports the very same function to
//! JavaScript, so a button hidden in the web app is exactly an operation the server refuses.
//!
//! The model is Argilla's:
//! - an `admin` is a super-user: it reads and changes every workspace, user and dataset, and is
//!   the only role that creates or deletes users, workspaces and datasets and manages membership;
//! - an `annotator` reads and writes the datasets of the workspaces it is a member of (its
//!   personal workspace among them) — logging records into an existing dataset, updating its
//!   tags and metadata, discarding records — and, for the datasets it created there, deletes,
//!   closes and opens them and deletes their records (Argilla 1.8's `DatasetPolicy`); it reads
//!   itself, changes its own password and rotates its own API key, and nothing else.
//!
//! Workspaces are identified by name here (names are unique), because that is what a subject
//! built from the `GET /api/me` JSON knows.

use serde::{Deserialize, Serialize};

use crate::domain::Role;

/// Everything a decision needs to know about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub username: String,
    pub role: Role,
    /// Names of the workspaces the subject is a member of, sorted (binary-searched).
    workspaces: Vec<String>,
}

impl Subject {
    pub fn new(
        username: impl Into<String>,
        role: Role,
        workspaces: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut workspaces: Vec<String> = workspaces.into_iter().collect();
        workspaces.sort_unstable();
        workspaces.dedup();
        Subject {
            username: username.into(),
            role,
            workspaces,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the subject is a member of the workspace named `name`.
    pub fn is_member_of(&self, name: &str) -> bool {
        self.workspaces
            .binary_search_by(|w| w.as_str().cmp(name))
            .is_ok()
    }

    /// The workspace names the subject is a member of, sorted.
    pub fn memberships(&self) -> &[String] {
        &self.workspaces
    }
}

/// Every operation the access model decides (API.md section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    // Workspaces
    ListWorkspaces,
    ReadWorkspace,
    CreateWorkspace,
    DeleteWorkspace,
    ListMembers,
    AddMember,
    RemoveMember,
    // Users
    ListUsers,
    ReadUser,
    CreateUser,
    UpdateUser,
    DeleteUser,
    ResetPassword,
    ChangeOwnPassword,
    RotateApiKey,
    ReadAuditLog,
    // Datasets
    ListDatasets,
    ReadDataset,
    WriteDataset,
    CreateDataset,
    DeleteDataset,
    CopyDataset,
    CloseDataset,
    OpenDataset,
    DeleteRecords,
    ManageDatasetSettings,
}

impl Action {
    /// All actions, in declaration order (for tables, docs and the browser package).
    pub const ALL: [Action; 26] = [
        Action::ListWorkspaces,
        Action::ReadWorkspace,
        Action::CreateWorkspace,
        Action::DeleteWorkspace,
        Action::ListMembers,
        Action::AddMember,
        Action::RemoveMember,
        Action::ListUsers,
        Action::ReadUser,
        Action::CreateUser,
        Action::UpdateUser,
        Action::DeleteUser,
        Action::ResetPassword,
        Action::ChangeOwnPassword,
        Action::RotateApiKey,
        Action::ReadAuditLog,
        Action::ListDatasets,
        Action::ReadDataset,
        Action::WriteDataset,
        Action::CreateDataset,
        Action::DeleteDataset,
        Action::CopyDataset,
        Action::CloseDataset,
        Action::OpenDataset,
        Action::DeleteRecords,
        Action::ManageDatasetSettings,
    ];

    /// The camelCase name used in JSON and JavaScript, e.g. `"readWorkspace"`.
    pub fn name(self) -> &'static str {
        match self {
            Action::ListWorkspaces => "listWorkspaces",
            Action::ReadWorkspace => "readWorkspace",
            Action::CreateWorkspace => "createWorkspace",
            Action::DeleteWorkspace => "deleteWorkspace",
            Action::ListMembers => "listMembers",
            Action::AddMember => "addMember",
            Action::RemoveMember => "removeMember",
            Action::ListUsers => "listUsers",
            Action::ReadUser => "readUser",
            Action::CreateUser => "createUser",
            Action::UpdateUser => "updateUser",
            Action::DeleteUser => "deleteUser",
            Action::ResetPassword => "resetPassword",
            Action::ChangeOwnPassword => "changeOwnPassword",
            Action::RotateApiKey => "rotateApiKey",
            Action::ReadAuditLog => "readAuditLog",
            Action::ListDatasets => "listDatasets",
            Action::ReadDataset => "readDataset",
            Action::WriteDataset => "writeDataset",
            Action::CreateDataset => "createDataset",
            Action::DeleteDataset => "deleteDataset",
            Action::CopyDataset => "copyDataset",
            Action::CloseDataset => "closeDataset",
            Action::OpenDataset => "openDataset",
            Action::DeleteRecords => "deleteRecords",
            Action::ManageDatasetSettings => "manageDatasetSettings",
        }
    }

    /// Parses a camelCase action name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The kind of resource this action applies to.
    pub fn resource_kind(self) -> ResourceKind {
        use Action::*;
        match self {
            ListWorkspaces | CreateWorkspace | ListUsers | CreateUser | ReadAuditLog => {
                ResourceKind::Instance
            }
            ReadWorkspace
            | DeleteWorkspace
            | ListMembers
            | AddMember
            | RemoveMember
            | ListDatasets
            | ReadDataset
            | WriteDataset
            | CreateDataset
            | ManageDatasetSettings => ResourceKind::Workspace,
            DeleteDataset | CloseDataset | OpenDataset | DeleteRecords => ResourceKind::Dataset,
            ReadUser | UpdateUser | DeleteUser | ResetPassword | ChangeOwnPassword
            | RotateApiKey => ResourceKind::User,
            CopyDataset => ResourceKind::DatasetCopy,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of [`Resource`] an action takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// The service as a whole (listing, creating).
    Instance,
    /// A workspace, or the datasets in it.
    Workspace,
    /// A user account.
    User,
    /// A dataset copy from one workspace to another.
    DatasetCopy,
    /// One dataset: its workspace and who created it.
    Dataset,
}

/// What an action is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// The service as a whole.
    Instance,
    /// A workspace (by name), or a dataset in it.
    Workspace(&'a str),
    /// A user account (by username).
    User(&'a str),
    /// Copying a dataset from one workspace to another.
    DatasetCopy { from: &'a str, to: &'a str },
    /// A dataset, by its workspace and creator (`None` when unknown).
    Dataset {
        workspace: &'a str,
        created_by: Option<&'a str>,
    },
}

impl Resource<'_> {
    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::Instance => ResourceKind::Instance,
            Resource::Workspace(_) => ResourceKind::Workspace,
            Resource::User(_) => ResourceKind::User,
            Resource::DatasetCopy { .. } => ResourceKind::DatasetCopy,
            Resource::Dataset { .. } => ResourceKind::Dataset,
        }
    }
}

/// The decision: may `subject` take `action` on `resource`?
///
/// A resource of the wrong kind for the action (say, `ReadWorkspace` on a `User`) is denied.
pub fn can(subject: &Subject, action: Action, resource: &Resource<'_>) -> bool {
    if action.resource_kind() != resource.kind() {
        return false;
    }
    if subject.is_admin() {
        return true;
    }
    use Action::*;
    match (action, resource) {
        // Annotators list workspaces, and see only their own (API.md 9.3).
        (ListWorkspaces, Resource::Instance) => true,
        (ReadWorkspace | ListDatasets | ReadDataset | WriteDataset, Resource::Workspace(name)) => {
            subject.is_member_of(name)
        }
        (ReadUser | ChangeOwnPassword | RotateApiKey, Resource::User(username)) => {
            *username == subject.username
        }
        // The creator of a dataset, while still a member of its workspace.
        (
            DeleteDataset | CloseDataset | OpenDataset | DeleteRecords,
            Resource::Dataset {
                workspace,
                created_by,
            },
        ) => subject.is_member_of(workspace) && *created_by == Some(subject.username.as_str()),
        _ => false,
    }
}

/// Every action `subject` may take on `resource` (the actions of the resource's kind), in
/// declaration order: what a front end shows or hides.
pub fn allowed_actions(subject: &Subject, resource: &Resource<'_>) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| a.resource_kind() == resource.kind() && can(subject, *a, resource))
        .collect()
}

/// The names among `candidates` whose workspace `subject` may read, in the given order.
pub fn accessible_workspaces<'a>(
    subject: &Subject,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    candidates
        .into_iter()
        .filter(|name| can(subject, Action::ReadWorkspace, &Resource::Workspace(name)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotator() -> Subject {
        Subject::new(
            "ann",
            Role::Annotator,
            ["ann".to_string(), "team".to_string()],
        )
    }

    fn admin() -> Subject {
        Subject::new("root", Role::Admin, ["root".to_string()])
    }

    /// Whether an annotator may take `action` on the resource, as a function of membership
    /// (or, for user resources, of the resource being itself): the expected table.
    fn annotator_expected(action: Action, member_or_self: bool) -> bool {
        use Action::*;
        match action {
            ListWorkspaces => true,
            ReadWorkspace | ListDatasets | ReadDataset | WriteDataset => member_or_self,
            ReadUser | ChangeOwnPassword | RotateApiKey => member_or_self,
            _ => false,
        }
    }

    fn resource_for<'a>(action: Action, workspace: &'a str, user: &'a str) -> Resource<'a> {
        match action.resource_kind() {
            ResourceKind::Instance => Resource::Instance,
            ResourceKind::Workspace => Resource::Workspace(workspace),
            ResourceKind::User => Resource::User(user),
            ResourceKind::DatasetCopy => Resource::DatasetCopy {
                from: workspace,
                to: workspace,
            },
            // Created by someone else: creator rights are tested on their own below.
            ResourceKind::Dataset => Resource::Dataset {
                workspace,
                created_by: Some("someone-else"),
            },
        }
    }

    #[test]
    fn a_dataset_creator_deletes_closes_opens_and_deletes_records_while_a_member() {
        let a = annotator();
        for action in [
            Action::DeleteDataset,
            Action::CloseDataset,
            Action::OpenDataset,
            Action::DeleteRecords,
        ] {
            let own = |workspace| Resource::Dataset {
                workspace,
                created_by: Some("ann"),
            };
            assert!(can(&a, action, &own("team")), "{action} own, member");
            assert!(
                !can(&a, action, &own("other")),
                "{action} own, not a member"
            );
            let unknown = Resource::Dataset {
                workspace: "team",
                created_by: None,
            };
            assert!(!can(&a, action, &unknown), "{action} creator unknown");
            assert!(can(&admin(), action, &unknown), "{action} admin");
        }
        assert!(!can(
            &a,
            Action::ManageDatasetSettings,
            &Resource::Workspace("team")
        ));
    }

    #[test]
    fn every_role_membership_and_action() {
        for action in Action::ALL {
            // admin: always, member or not
            for (ws, user) in [("root", "root"), ("other", "someone")] {
                assert!(
                    can(&admin(), action, &resource_for(action, ws, user)),
                    "admin {action} {ws}"
                );
            }
            // annotator, member / self
            let a = annotator();
            assert_eq!(
                can(&a, action, &resource_for(action, "team", "ann")),
                annotator_expected(action, true),
                "annotator member {action}"
            );
            assert_eq!(
                can(&a, action, &resource_for(action, "ann", "ann")),
                annotator_expected(action, true),
                "annotator personal {action}"
            );
            // annotator, non-member / other user
            assert_eq!(
                can(&a, action, &resource_for(action, "other", "bob")),
                annotator_expected(action, false),
                "annotator non-member {action}"
            );
        }
    }

    #[test]
    fn allowed_actions_and_accessible_workspaces_follow_can() {
        let a = annotator();
        assert_eq!(
            allowed_actions(&a, &Resource::Workspace("team")),
            vec![
                Action::ReadWorkspace,
                Action::ListDatasets,
                Action::ReadDataset,
                Action::WriteDataset
            ]
        );
        assert_eq!(
            allowed_actions(&a, &Resource::Workspace("other")),
            Vec::<Action>::new()
        );
        assert_eq!(
            allowed_actions(&a, &Resource::Instance),
            vec![Action::ListWorkspaces]
        );
        assert_eq!(
            accessible_workspaces(&a, ["other", "team", "ann"]),
            vec!["team", "ann"]
        );
        assert_eq!(accessible_workspaces(&admin(), ["x", "y"]), vec!["x", "y"]);
    }

    #[test]
    fn copy_dataset_is_admin_only_even_between_own_workspaces() {
        let r = Resource::DatasetCopy {
            from: "ann",
            to: "team",
        };
        assert!(!can(&annotator(), Action::CopyDataset, &r));
        assert!(can(&admin(), Action::CopyDataset, &r));
    }

    #[test]
    fn wrong_resource_kind_is_denied_even_for_admins() {
        assert!(!can(
            &admin(),
            Action::ReadWorkspace,
            &Resource::User("root")
        ));
        assert!(!can(
            &admin(),
            Action::CreateUser,
            &Resource::Workspace("root")
        ));
    }

    #[test]
    fn membership_is_by_exact_name() {
        let a = annotator();
        assert!(!can(
            &a,
            Action::ReadWorkspace,
            &Resource::Workspace("Team")
        ));
        assert!(!can(&a, Action::ReadWorkspace, &Resource::Workspace("tea")));
        assert!(!can(&a, Action::ReadWorkspace, &Resource::Workspace("")));
    }

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a));
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                format!("\"{}\"", a.name())
            );
        }
        assert_eq!(Action::from_name("ReadWorkspace"), None);
    }
}
