//! Creating and changing accounts, shared by the CLI, the first-start bootstrap and (later)
//! self-service registration: every input validated, the password hashed, roles checked.

use crate::auth::password::{PasswordError, PasswordHasher};
use crate::domain::{Email, RoleName, Username};
use crate::store::{Db, NewUser, StoreError, UserRow};

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// An input is invalid; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// No such user or client (the text names which).
    #[error("{0} not found")]
    NotFound(String),
    /// Storage refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PasswordError> for AccountError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Policy(m) => AccountError::Invalid(m),
            other => AccountError::Invalid(other.to_string()),
        }
    }
}

/// What a new account needs.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Plain password (hashed here, never stored).
    pub password: String,
    /// Role names.
    pub roles: Vec<String>,
}

/// Validates role names and checks that each exists; returns them sorted and unique.
pub async fn checked_roles(db: &Db, roles: &[String]) -> Result<Vec<String>, AccountError> {
    let mut names = roles
        .iter()
        .map(|r| RoleName::parse(r).map(|r| r.as_str().to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(AccountError::Invalid)?;
    names.sort();
    names.dedup();
    let unknown = db.unknown_roles(&names).await?;
    if !unknown.is_empty() {
        return Err(AccountError::Invalid(format!(
            "unknown role(s): {} (add them with `tessera role add`)",
            unknown.join(", ")
        )));
    }
    Ok(names)
}

/// Creates an account.
pub async fn create(
    db: &Db,
    hasher: &PasswordHasher,
    account: NewAccount,
    now: i64,
) -> Result<UserRow, AccountError> {
    let username = Username::parse(&account.username).map_err(AccountError::Invalid)?;
    let email = Email::parse(&account.email).map_err(AccountError::Invalid)?;
    let name = account
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 128) {
        return Err(AccountError::Invalid(
            "a name may have at most 128 characters".into(),
        ));
    }
    let roles = checked_roles(db, &account.roles).await?;
    let password_hash = hasher.hash(account.password).await?;
    let id = uuid::Uuid::new_v4().to_string();
    db.insert_user(&NewUser {
        id: id.clone(),
        username: username.as_str().to_string(),
        username_normalized: username.normalized(),
        email: email.as_str().to_string(),
        email_normalized: email.normalized(),
        name,
        password_hash,
        roles,
        now,
    })
    .await
    .map_err(|e| match e {
        StoreError::Conflict(m) => AccountError::Invalid(m),
        other => other.into(),
    })?;
    db.find_user(&id)
        .await?
        .ok_or(AccountError::NotFound(format!("user '{id}'")))
}

/// Finds a user by username or e-mail.
pub async fn find(db: &Db, login: &str) -> Result<UserRow, AccountError> {
    db.find_user_by_login(&login.trim().to_lowercase())
        .await?
        .ok_or_else(|| AccountError::NotFound(format!("user '{login}'")))
}

/// Sets a new password.
pub async fn set_password(
    db: &Db,
    hasher: &PasswordHasher,
    login: &str,
    password: String,
    now: i64,
) -> Result<(), AccountError> {
    let user = find(db, login).await?;
    let hash = hasher.hash(password).await?;
    db.set_password_hash(&user.id, &hash, now).await?;
    Ok(())
}
