//! Account use cases shared by the CLI, the first start and (later) the admin console and
//! API: create, change and delete users; the role catalogue. Passwords are hashed before the
//! transaction opens, so no write lock is held while argon2 works.

use super::audit::{Event, EventType};
use super::{Caller, ServiceError, ServiceResult, Services, convert};
use crate::auth::password::PasswordError;
use crate::domain::{Email, RoleName, User, Username};
use crate::store::{RoleRow, Tx};

/// What a new account needs.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// The initial password.
    pub password: String,
    /// Role names (must exist).
    pub roles: Vec<String>,
}

impl From<PasswordError> for ServiceError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Policy(m) => ServiceError::invalid("password", m),
            PasswordError::Busy => ServiceError::Unavailable(PasswordError::Busy.to_string()),
            other => ServiceError::Internal(anyhow::anyhow!("password hashing: {other}")),
        }
    }
}

/// Roles every installation has; they cannot be deleted.
pub const BUILT_IN_ROLES: [&str; 3] = ["admin", "user", "guest"];

/// A display name as entered: trimmed, empty meaning none, at most 128 characters.
pub(crate) fn display_name(name: Option<&str>) -> ServiceResult<Option<String>> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if name.as_ref().is_some_and(|n| n.chars().count() > 128) {
        return Err(ServiceError::invalid(
            "name",
            "a name may have at most 128 characters",
        ));
    }
    Ok(name)
}

impl Services {
    /// Checks a new password against the policy for the account `username` / `email`, and,
    /// when the form asked for it twice, that both match.
    pub(crate) fn check_new_password(
        &self,
        password: &str,
        confirmation: Option<&str>,
        username: &str,
        email: &str,
    ) -> ServiceResult<()> {
        if confirmation.is_some_and(|again| again != password) {
            return Err(ServiceError::invalid(
                "confirmation",
                "the two passwords differ; type the same password twice",
            ));
        }
        self.policy
            .check(password, username, email)
            .map_err(|weak| ServiceError::invalid("password", weak.message))
    }
}

/// Validated, sorted, de-duplicated role names that all exist.
pub(crate) async fn checked_roles(tx: &mut Tx, roles: &[String]) -> ServiceResult<Vec<String>> {
    let mut names = roles
        .iter()
        .map(|r| RoleName::parse(r).map(|r| r.as_str().to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| ServiceError::invalid("roles", m))?;
    names.sort();
    names.dedup();
    let unknown = tx.unknown_roles(&names).await?;
    if !unknown.is_empty() {
        return Err(ServiceError::invalid(
            "roles",
            format!(
                "unknown role(s): {} (add them with `tessera role add`)",
                unknown.join(", ")
            ),
        ));
    }
    Ok(names)
}

/// Loads a user by username, e-mail or id.
async fn find_user(tx: &mut Tx, login: &str) -> ServiceResult<User> {
    let login = login.trim();
    // No username looks like an id (`Username::parse`), so the two never collide.
    let row = if uuid::Uuid::parse_str(login).is_ok() {
        tx.find_user(login).await?
    } else {
        tx.find_user_by_login(&login.to_lowercase()).await?
    };
    let row = row.ok_or_else(|| ServiceError::NotFound(format!("user '{login}'")))?;
    let roles = tx.user_roles(&row.id).await?;
    Ok(convert::user(row, roles))
}

impl Services {
    /// Creates an account.
    pub async fn create_user(&self, caller: &Caller, account: NewAccount) -> ServiceResult<User> {
        self.create_account(caller, account, false).await
    }

    /// Creates an account whose owner chooses the password: it gets an unguessable one no
    /// one knows, and its owner a mail with a link to set theirs, in the same transaction as
    /// the account (no account without its mail, and no mail for an account that failed).
    pub async fn create_user_with_invitation(
        &self,
        caller: &Caller,
        mut account: NewAccount,
    ) -> ServiceResult<User> {
        account.password = crate::auth::secret::generate();
        self.create_account(caller, account, true).await
    }

    /// Creates an account, audited; with `invite`, also queues the mail with a link to set
    /// the password.
    async fn create_account(
        &self,
        caller: &Caller,
        account: NewAccount,
        invite: bool,
    ) -> ServiceResult<User> {
        self.audited(
            caller,
            Event::failure(EventType::UserCreated).typed_username(&account.username),
            async {
                let username = Username::parse(&account.username)
                    .map_err(|m| ServiceError::invalid("username", m))?;
                let email =
                    Email::parse(&account.email).map_err(|m| ServiceError::invalid("email", m))?;
                let name = display_name(account.name.as_deref())?;
                self.check_new_password(
                    &account.password,
                    None,
                    username.as_str(),
                    email.as_str(),
                )?;
                let password_hash = self.passwords.hash(account.password).await?;
                let now = self.now();
                let mut tx = self.db.write().await?;
                let roles = checked_roles(&mut tx, &account.roles).await?;
                if let Some(field) = tx
                    .taken_login(&username.normalized(), &email.normalized())
                    .await?
                {
                    return Err(ServiceError::conflict(
                        field,
                        format!("that {field} is already taken"),
                    ));
                }
                let new =
                    convert::new_user(&username, &email, name, password_hash, roles, true, now);
                tx.insert_user(&new).await?;
                let id = new.id;
                let user = find_user(&mut tx, &id).await?;
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::UserCreated)
                        .user(&user.id, &user.username)
                        .details(serde_json::json!({ "roles": user.roles })),
                    now,
                )
                .await?;
                if invite {
                    self.mail_password_link(
                        &mut tx,
                        (&user.id, &user.username, &user.email),
                        "account_created",
                        now,
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(user)
            },
        )
        .await
    }

    /// A user by username, e-mail or id.
    pub async fn user(&self, login: &str) -> ServiceResult<User> {
        let mut tx = self.db.read().await?;
        find_user(&mut tx, login).await
    }

    /// Every user with their roles, by username.
    pub async fn list_users(&self) -> ServiceResult<Vec<User>> {
        let mut tx = self.db.read().await?;
        Ok(tx
            .list_users()
            .await?
            .into_iter()
            .map(|(row, roles)| convert::user(row, roles))
            .collect())
    }

    /// A page of users by username after `cursor` (a username), at most `limit`, whose
    /// username, e-mail or name contains `search` (case-insensitive); with the cursor of the
    /// next page, if there is one.
    pub async fn users_page(
        &self,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> ServiceResult<(Vec<User>, Option<String>)> {
        let needle = search.unwrap_or_default().trim().to_lowercase();
        let after = cursor.unwrap_or_default();
        let mut page: Vec<User> = {
            let mut tx = self.db.read().await?;
            tx.users_page(&needle, after, limit as i64 + 1)
                .await?
                .into_iter()
                .map(|(row, roles)| convert::user(row, roles))
                .collect()
        };
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|u| u.username.to_ascii_lowercase())
        } else {
            None
        };
        Ok((page, next))
    }

    /// How many accounts exist.
    pub async fn count_users(&self) -> ServiceResult<i64> {
        let mut tx = self.db.read().await?;
        Ok(tx.count_users().await?)
    }

    /// Sets a new password for someone else (an admin or the CLI). Anyone who knew the old
    /// password may be the reason for the change, so every session of the user ends and
    /// every grant (refresh and access tokens) is revoked.
    pub async fn set_password(
        &self,
        caller: &Caller,
        login: &str,
        password: String,
    ) -> ServiceResult<User> {
        self.audited(caller, Event::failure(EventType::PasswordSet).typed_username(login), async {
            let user = self.user(login).await?;
            self.check_new_password(&password, None, &user.username, &user.email)?;
            let hash = self.passwords.hash(password).await?;
            let now = self.now();
            let mut tx = self.db.write().await?;
            let user = find_user(&mut tx, &user.id).await?;
            tx.set_password_hash(&user.id, &hash, now).await?;
            let (sessions, grants) = self.end_all_sessions(&mut tx, &user.id, now).await?;
            self.record(
                &mut tx,
                caller,
                Event::success(EventType::PasswordSet)
                    .user(&user.id, &user.username)
                    .details(serde_json::json!({ "sessions_ended": sessions, "grants_revoked": grants })),
                now,
            )
            .await?;
            tx.commit().await?;
            Ok(user)
        })
        .await
    }

    /// Replaces a user's roles.
    pub async fn set_roles(
        &self,
        caller: &Caller,
        login: &str,
        roles: &[String],
    ) -> ServiceResult<User> {
        self.audited(
            caller,
            Event::failure(EventType::RolesSet).typed_username(login),
            async {
                let now = self.now();
                let mut tx = self.db.write().await?;
                let user = find_user(&mut tx, login).await?;
                let roles = checked_roles(&mut tx, roles).await?;
                tx.set_user_roles(&user.id, &roles, now).await?;
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::RolesSet)
                        .user(&user.id, &user.username)
                        .details(serde_json::json!({ "before": user.roles, "after": roles })),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(User { roles, ..user })
            },
        )
        .await
    }

    /// Enables or disables an account. Disabling ends every session of the user and revokes
    /// every grant, so nothing they hold keeps working.
    pub async fn set_enabled(
        &self,
        caller: &Caller,
        login: &str,
        enabled: bool,
    ) -> ServiceResult<User> {
        self.audited(
            caller,
            Event::failure(if enabled {
                EventType::UserEnabled
            } else {
                EventType::UserDisabled
            })
            .typed_username(login),
            async {
                let now = self.now();
                let mut tx = self.db.write().await?;
                let user = find_user(&mut tx, login).await?;
                tx.set_user_enabled(&user.id, enabled, now).await?;
                let (kind, details) = if enabled {
                    (EventType::UserEnabled, serde_json::json!({}))
                } else {
                    let (sessions, grants) = self.end_all_sessions(&mut tx, &user.id, now).await?;
                    (
                        EventType::UserDisabled,
                        serde_json::json!({ "sessions_ended": sessions, "grants_revoked": grants }),
                    )
                };
                self.record(
                    &mut tx,
                    caller,
                    Event::success(kind)
                        .user(&user.id, &user.username)
                        .details(details),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(User { enabled, ..user })
            },
        )
        .await
    }

    /// Deletes an account; its sessions, grants, tokens and consents go with it.
    pub async fn delete_user(&self, caller: &Caller, login: &str) -> ServiceResult<User> {
        self.audited(
            caller,
            Event::failure(EventType::UserDeleted).typed_username(login),
            async {
                let now = self.now();
                let mut tx = self.db.write().await?;
                let user = find_user(&mut tx, login).await?;
                self.end_all_sessions(&mut tx, &user.id, now).await?;
                tx.delete_user(&user.id).await?;
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::UserDeleted).user(&user.id, &user.username),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(user)
            },
        )
        .await
    }

    /// Adds a custom role.
    pub async fn create_role(
        &self,
        caller: &Caller,
        name: &str,
        description: &str,
    ) -> ServiceResult<RoleRow> {
        self.audited(
            caller,
            Event::failure(EventType::RoleCreated).details(serde_json::json!({ "role": name })),
            async {
                let role = RoleName::parse(name).map_err(|m| ServiceError::invalid("name", m))?;
                let description = description.trim().to_string();
                let now = self.now();
                let mut tx = self.db.write().await?;
                if !tx.insert_role(role.as_str(), &description, now).await? {
                    return Err(ServiceError::conflict(
                        "name",
                        format!("role '{role}' already exists"),
                    ));
                }
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::RoleCreated)
                        .details(serde_json::json!({ "role": role.as_str() })),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(RoleRow {
                    name: role.as_str().to_string(),
                    description,
                    members: 0,
                })
            },
        )
        .await
    }

    /// The role catalogue.
    pub async fn list_roles(&self) -> ServiceResult<Vec<RoleRow>> {
        let mut tx = self.db.read().await?;
        Ok(tx.list_roles().await?)
    }

    /// Deletes a custom role; returns how many users and clients lost it. The built-in
    /// roles stay.
    pub async fn delete_role(&self, caller: &Caller, name: &str) -> ServiceResult<(u64, u64)> {
        self.audited(
            caller,
            Event::failure(EventType::RoleDeleted).details(serde_json::json!({ "role": name })),
            async {
                if BUILT_IN_ROLES.contains(&name) {
                    return Err(ServiceError::Forbidden(format!(
                        "'{name}' is a built-in role and cannot be deleted"
                    )));
                }
                let now = self.now();
                let mut tx = self.db.write().await?;
                let users = tx.count_role_holders(name).await?;
                // Client roles are stored as words on the client: take the role off each.
                let mut clients = 0;
                for row in tx.list_clients().await? {
                    let mut client = convert::client(row);
                    if client.roles.iter().any(|r| r == name) {
                        client.roles.retain(|r| r != name);
                        tx.update_client_roles(&client.id, &client.roles.join(" "), now)
                            .await?;
                        clients += 1;
                    }
                }
                if !tx.delete_role(name).await? {
                    return Err(ServiceError::NotFound(format!("role '{name}'")));
                }
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::RoleDeleted).details(serde_json::json!({
                        "role": name, "users": users, "clients": clients,
                    })),
                    now,
                )
                .await?;
                tx.commit().await?;
                self.clients_changed();
                Ok((users, clients))
            },
        )
        .await
    }
}
