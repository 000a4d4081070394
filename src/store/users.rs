//! Users, their roles, and the role catalogue.

use sqlx::FromRow;

use super::{Db, StoreError, StoreResult, flag};

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
}

impl UserRow {
    /// Whether the account may sign in.
    pub fn is_enabled(&self) -> bool {
        self.enabled != 0
    }
}

/// One row of a user joined with one of their roles.
#[derive(FromRow)]
struct UserWithRole {
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
    /// Creation time.
    pub now: i64,
}

const USER_COLUMNS: &str =
    "id, username, email, email_verified, name, password_hash, enabled, created_at, updated_at";

impl Db {
    /// Inserts a user with roles in one transaction. A taken username or e-mail, or an
    /// unknown role, is a [`StoreError::Conflict`] naming it.
    pub async fn insert_user(&self, user: &NewUser) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let taken: Option<(String,)> = sqlx::query_as(
            "SELECT username_normalized FROM users WHERE username_normalized = $1 OR email_normalized = $2",
        )
        .bind(&user.username_normalized)
        .bind(&user.email_normalized)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((name,)) = taken {
            let what = if name == user.username_normalized {
                "username"
            } else {
                "email"
            };
            return Err(StoreError::Conflict(format!(
                "that {what} is already taken"
            )));
        }
        sqlx::query(
            "INSERT INTO users (id, username, username_normalized, email, email_normalized, \
             email_verified, name, password_hash, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, 1, $8, $8)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.username_normalized)
        .bind(&user.email)
        .bind(&user.email_normalized)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            // Another transaction inserted the name after the check above (PostgreSQL's read
            // committed lets both see none): the same answer as the check's.
            StoreError::Conflict(_) => {
                StoreError::Conflict("that username or email is already taken".into())
            }
            other => other,
        })?;
        insert_roles(&mut tx, &user.id, &user.roles).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Finds a user by lower-cased username or e-mail.
    pub async fn find_user_by_login(&self, login_normalized: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username_normalized = $1 OR email_normalized = $1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(login_normalized)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Finds a user by id.
    pub async fn find_user(&self, id: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A user with their sorted role names, in one round trip (the token and userinfo paths).
    pub async fn find_user_with_roles(
        &self,
        id: &str,
    ) -> StoreResult<Option<(UserRow, Vec<String>)>> {
        let rows: Vec<UserWithRole> = sqlx::query_as(
            "SELECT u.id, u.username, u.email, u.email_verified, u.name, u.password_hash, u.enabled, \
             u.created_at, u.updated_at, r.role_name \
             FROM users u LEFT JOIN user_roles r ON r.user_id = u.id WHERE u.id = $1 ORDER BY r.role_name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let roles = rows.iter().filter_map(|r| r.role_name.clone()).collect();
        Ok(rows.into_iter().next().map(|r| (r.user, roles)))
    }

    /// The role names of a user, sorted.
    pub async fn user_roles(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT role_name FROM user_roles WHERE user_id = $1 ORDER BY role_name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }

    /// Every user with their roles, by username.
    pub async fn list_users(&self) -> StoreResult<Vec<(UserRow, Vec<String>)>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username_normalized");
        let users: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        let pairs: Vec<(String, String)> =
            sqlx::query_as("SELECT user_id, role_name FROM user_roles ORDER BY role_name")
                .fetch_all(&self.pool)
                .await?;
        Ok(users
            .into_iter()
            .map(|u| {
                let roles = pairs
                    .iter()
                    .filter(|(id, _)| *id == u.id)
                    .map(|(_, r)| r.clone())
                    .collect();
                (u, roles)
            })
            .collect())
    }

    /// How many users exist.
    pub async fn count_users(&self) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&self, user_id: &str, hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces a user's roles in one transaction.
    pub async fn set_user_roles(
        &self,
        user_id: &str,
        roles: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        insert_roles(&mut tx, user_id, roles).await?;
        sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Enables or disables a user. Disabling also ends their sessions and revokes their grants.
    pub async fn set_user_enabled(
        &self,
        user_id: &str,
        enabled: bool,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(flag(enabled))
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if !enabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user and, by cascade, everything that belongs to them.
    pub async fn delete_user(&self, user_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The role catalogue.
    pub async fn list_roles(&self) -> StoreResult<Vec<RoleRow>> {
        Ok(
            sqlx::query_as("SELECT name, description FROM roles ORDER BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Adds a custom role.
    pub async fn insert_role(&self, name: &str, description: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO roles (name, description, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(description)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("role '{name}' already exists"))
                }
                other => other,
            })?;
        Ok(())
    }

    /// Deletes a role; users and clients lose it.
    pub async fn delete_role(&self, name: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM roles WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The roles of `names` that are not in the catalogue.
    pub async fn unknown_roles(&self, names: &[String]) -> StoreResult<Vec<String>> {
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
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    roles: &[String],
) -> StoreResult<()> {
    for role in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role_name) VALUES ($1, $2)")
            .bind(user_id)
            .bind(role)
            .execute(&mut **tx)
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
