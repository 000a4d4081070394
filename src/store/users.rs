//! Users, their roles, and the role catalogue.

use sqlx::FromRow;

use super::{StoreError, StoreResult, Tx, flag};

/// A stored user.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    /// Stable subject identifier (never the username).
    pub id: String,
    /// Username as entered.
    pub username: String,
    /// E-mail as entered.
    pub email: String,
    /// 1 when the address was verified.
    pub email_verified: i64,
    /// Display name.
    pub name: Option<String>,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    /// 1 when the account may sign in.
    pub enabled: i64,
    /// Creation time.
    pub created_at: i64,
    /// Last change to the profile.
    pub updated_at: i64,
    /// Preferred language (BCP 47).
    pub locale: Option<String>,
    /// Time zone (IANA name).
    pub time_zone: Option<String>,
    /// The generation of the account's device cookies.
    pub device_epoch: i64,
}

impl UserRow {
    /// Whether the account may sign in.
    pub fn is_enabled(&mut self) -> bool {
        self.enabled != 0
    }
}

/// The columns of a [`UserRow`] from `users u`, and a role's name from `user_roles r`.
macro_rules! user_with_role_columns {
    () => {
        "u.id, u.username, u.email, u.email_verified, u.name, u.password_hash, u.enabled, \
         u.created_at, u.updated_at, u.locale, u.time_zone, u.device_epoch, r.role_name"
    };
}
pub(super) use user_with_role_columns;

/// A user (`$1`) joined with each of their roles, one row per role; callers add conditions
/// and the order.
const USER_WITH_ROLES: &str = concat!(
    "SELECT ",
    user_with_role_columns!(),
    " FROM users u LEFT JOIN user_roles r ON r.user_id = u.id WHERE u.id = $1"
);

/// One row of a user joined with one of their roles.
#[derive(FromRow)]
pub(super) struct UserWithRole {
    #[sqlx(flatten)]
    user: UserRow,
    role_name: Option<String>,
}

/// A role from the catalogue.
#[derive(Debug, Clone, FromRow)]
pub struct RoleRow {
    /// Role name.
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// How many users hold it.
    pub members: i64,
}

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Fresh stable id.
    pub id: String,
    /// Username as entered.
    pub username: String,
    /// Lower-cased username.
    pub username_normalized: String,
    /// E-mail as entered.
    pub email: String,
    /// Lower-cased e-mail.
    pub email_normalized: String,
    /// Display name.
    pub name: Option<String>,
    /// PHC string of the password hash.
    pub password_hash: String,
    /// Role names (must exist).
    pub roles: Vec<String>,
    /// Whether the address counts as verified (accounts an admin makes do).
    pub email_verified: bool,
    /// Creation time.
    pub now: i64,
}

const USER_COLUMNS: &str = "id, username, email, email_verified, name, password_hash, enabled, \
     created_at, updated_at, locale, time_zone, device_epoch";

impl Tx {
    /// Which of a username and an e-mail (both lower-cased) an existing account already
    /// uses: `Some("username")`, `Some("email")` or `None`.
    pub async fn taken_login(
        &mut self,
        username_normalized: &str,
        email_normalized: &str,
    ) -> StoreResult<Option<&'static str>> {
        let taken: Option<(String,)> = sqlx::query_as(
            "SELECT username_normalized FROM users WHERE username_normalized = $1 OR email_normalized = $2",
        )
        .bind(username_normalized)
        .bind(email_normalized)
        .fetch_optional(self.c())
        .await?;
        Ok(taken.map(|(name,)| {
            if name == username_normalized {
                "username"
            } else {
                "email"
            }
        }))
    }

    /// Inserts a user with roles (which must exist; see [`Tx::unknown_roles`]).
    pub async fn insert_user(&mut self, user: &NewUser) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, username, username_normalized, email, email_normalized, \
             email_verified, name, password_hash, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.username_normalized)
        .bind(&user.email)
        .bind(&user.email_normalized)
        .bind(flag(user.email_verified))
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.now)
        .execute(self.c())
        .await
        .map_err(|e| match StoreError::from(e) {
            // Another transaction inserted the name after the check (PostgreSQL's read
            // committed lets both see none): the same answer as the check's.
            StoreError::Conflict(_) => {
                StoreError::Conflict("that username or email is already taken".into())
            }
            other => other,
        })?;
        insert_roles(self.c(), &user.id, &user.roles).await?;
        Ok(())
    }

    /// Finds a user by lower-cased username or e-mail.
    pub async fn find_user_by_login(
        &mut self,
        login_normalized: &str,
    ) -> StoreResult<Option<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username_normalized = $1 OR email_normalized = $1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(login_normalized)
            .fetch_optional(self.c())
            .await?)
    }

    /// Finds a user by lower-cased e-mail address.
    pub async fn find_user_by_email(
        &mut self,
        email_normalized: &str,
    ) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_normalized = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(email_normalized)
            .fetch_optional(self.c())
            .await?)
    }

    /// Finds a user by id.
    pub async fn find_user(&mut self, id: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.c())
            .await?)
    }

    /// A user with their sorted role names, in one round trip (the token and userinfo paths).
    pub async fn find_user_with_roles(
        &mut self,
        id: &str,
    ) -> StoreResult<Option<(UserRow, Vec<String>)>> {
        let sql = format!("{USER_WITH_ROLES} ORDER BY r.role_name");
        let rows: Vec<UserWithRole> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(self.c())
            .await?;
        Ok(with_roles(rows))
    }

    /// The user with their roles, only while the grant `grant_id` is live and the access
    /// token `jti` was not revoked: the userinfo answer in one statement.
    pub async fn user_of_live_token(
        &mut self,
        user_id: &str,
        grant_id: &str,
        jti: &str,
        now: i64,
    ) -> StoreResult<Option<(UserRow, Vec<String>)>> {
        let sql = format!(
            "{USER_WITH_ROLES} \
             AND EXISTS (SELECT 1 FROM grants g WHERE g.id = $2 AND g.revoked_at IS NULL AND g.expires_at > $4) \
             AND NOT EXISTS (SELECT 1 FROM revoked_access_tokens t WHERE t.jti = $3) \
             ORDER BY r.role_name"
        );
        let rows: Vec<UserWithRole> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(grant_id)
            .bind(jti)
            .bind(now)
            .fetch_all(self.c())
            .await?;
        Ok(with_roles(rows))
    }

    /// The role names of a user, sorted.
    pub async fn user_roles(&mut self, user_id: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT role_name FROM user_roles WHERE user_id = $1 ORDER BY role_name",
        )
        .bind(user_id)
        .fetch_all(self.c())
        .await?;
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }

    /// Every user with their roles, by username.
    pub async fn list_users(&mut self) -> StoreResult<Vec<(UserRow, Vec<String>)>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username_normalized");
        let users: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.c())
            .await?;
        let pairs: Vec<(String, String)> =
            sqlx::query_as("SELECT user_id, role_name FROM user_roles ORDER BY role_name")
                .fetch_all(self.c())
                .await?;
        Ok(users_with_roles(users, pairs))
    }

    /// Up to `limit` users by normalized username after `after`, whose username, e-mail or
    /// name contains `needle` (lower case; every user when empty), with their roles.
    pub async fn users_page(
        &mut self,
        needle: &str,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<(UserRow, Vec<String>)>> {
        // The needle is matched literally: LIKE's own wildcards in it are escaped.
        let pattern = format!(
            "%{}%",
            needle
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username_normalized > $1 AND \
             (username_normalized LIKE $2 ESCAPE '\\' OR email_normalized LIKE $2 ESCAPE '\\' \
              OR LOWER(COALESCE(name, '')) LIKE $2 ESCAPE '\\') \
             ORDER BY username_normalized LIMIT $3"
        );
        let users: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(pattern)
            .bind(limit)
            .fetch_all(self.c())
            .await?;
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=users.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT user_id, role_name FROM user_roles WHERE user_id IN ({}) ORDER BY role_name",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for user in &users {
            query = query.bind(&user.id);
        }
        let pairs: Vec<(String, String)> = query.fetch_all(self.c()).await?;
        Ok(users_with_roles(users, pairs))
    }

    /// How many users exist.
    pub async fn count_users(&mut self) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(self.c())
            .await?;
        Ok(n)
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(
        &mut self,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Replaces a user's roles in one transaction.
    pub async fn set_user_roles(
        &mut self,
        user_id: &str,
        roles: &[String],
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(user_id)
            .execute(self.c())
            .await?;
        insert_roles(self.c(), user_id, roles).await?;
        // A role no longer held is no longer an upstream mapping's: given back by hand later,
        // it is the user's own.
        sqlx::query(
            "DELETE FROM mapped_roles WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM user_roles r \
             WHERE r.user_id = mapped_roles.user_id AND r.role_name = mapped_roles.role_name)",
        )
        .bind(user_id)
        .execute(self.c())
        .await?;
        sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Enables or disables a user (the use case ends their sessions and grants).
    pub async fn set_user_enabled(
        &mut self,
        user_id: &str,
        enabled: bool,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(flag(enabled))
            .bind(now)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Deletes a user; the rows that belong to them go with it (foreign keys cascade).
    pub async fn delete_user(&mut self, user_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Marks a user's address verified.
    pub async fn set_email_verified(&mut self, user_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET email_verified = 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Replaces a user's address (verified: it was confirmed by a link sent to it).
    pub async fn set_email(
        &mut self,
        user_id: &str,
        email: &str,
        email_normalized: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET email = $1, email_normalized = $2, email_verified = 1, updated_at = $3 WHERE id = $4",
        )
        .bind(email)
        .bind(email_normalized)
        .bind(now)
        .bind(user_id)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Replaces a user's display name, language and time zone.
    pub async fn set_profile(
        &mut self,
        user_id: &str,
        profile: (Option<&str>, Option<&str>, Option<&str>),
        now: i64,
    ) -> StoreResult<()> {
        let (name, locale, time_zone) = profile;
        sqlx::query(
            "UPDATE users SET name = $1, locale = $2, time_zone = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(name)
        .bind(locale)
        .bind(time_zone)
        .bind(now)
        .bind(user_id)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// How many users hold a role.
    pub async fn count_role_holders(&mut self, role: &str) -> StoreResult<u64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM user_roles WHERE role_name = $1")
            .bind(role)
            .fetch_one(self.c())
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// The role catalogue.
    pub async fn list_roles(&mut self) -> StoreResult<Vec<RoleRow>> {
        Ok(sqlx::query_as(
            "SELECT name, description, \
                 (SELECT COUNT(*) FROM user_roles WHERE role_name = roles.name) AS members \
                 FROM roles ORDER BY name",
        )
        .fetch_all(self.c())
        .await?)
    }

    /// Adds a custom role; false when the name is taken.
    pub async fn insert_role(
        &mut self,
        name: &str,
        description: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO roles (name, description, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(description)
        .bind(now)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a role; users and clients lose it.
    pub async fn delete_role(&mut self, name: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM roles WHERE name = $1")
            .bind(name)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The roles of `names` that are not in the catalogue.
    pub async fn unknown_roles(&mut self, names: &[String]) -> StoreResult<Vec<String>> {
        let known: Vec<String> = self
            .list_roles()
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect();
        Ok(names
            .iter()
            .filter(|n| !known.contains(n))
            .cloned()
            .collect())
    }
}

async fn insert_roles(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    roles: &[String],
) -> StoreResult<()> {
    for role in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role_name) VALUES ($1, $2)")
            .bind(user_id)
            .bind(role)
            .execute(&mut *conn)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("role '{role}' does not exist"))
                }
                other => other,
            })?;
    }
    Ok(())
}

/// Rows of one user joined with their roles, folded into the user and the role names.
pub(super) fn with_roles(
    rows: impl IntoIterator<Item = UserWithRole>,
) -> Option<(UserRow, Vec<String>)> {
    let mut rows = rows.into_iter();
    let first = rows.next()?;
    let roles = first
        .role_name
        .into_iter()
        .chain(rows.filter_map(|r| r.role_name))
        .collect();
    Some((first.user, roles))
}

/// Each user with the roles `pairs` (user id, role) give them, in the pairs' order.
fn users_with_roles(
    users: Vec<UserRow>,
    pairs: Vec<(String, String)>,
) -> Vec<(UserRow, Vec<String>)> {
    let mut roles: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (user, role) in pairs {
        roles.entry(user).or_default().push(role);
    }
    users
        .into_iter()
        .map(|u| {
            let held = roles.remove(&u.id).unwrap_or_default();
            (u, held)
        })
        .collect()
}
