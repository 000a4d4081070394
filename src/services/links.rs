//! Links sent by mail: single-use tokens of 256 random bits, stored only as SHA-256, each
//! kind with its lifetime. Issuing a newer link of a kind for an account retires the older
//! ones; using a link consumes it (exactly once, however many race).

use serde_json::Value;

use super::{ServiceResult, Services};
use crate::auth::secret;
use crate::store::{ActionTokenRow, NewActionToken, Tx};

/// What a link does, with its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Confirm the address of a new account (24 h).
    VerifyEmail,
    /// Set a new password (30 min).
    ResetPassword,
    /// Create an account by invitation (7 days).
    Invitation,
    /// Confirm a new address for an existing account (24 h).
    ChangeEmail,
    /// Disown a sign-in from a new device ("This wasn't me", 7 days).
    NotMe,
}

impl LinkKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::VerifyEmail => "verify_email",
            LinkKind::ResetPassword => "reset_password",
            LinkKind::Invitation => "invitation",
            LinkKind::ChangeEmail => "change_email",
            LinkKind::NotMe => "not_me",
        }
    }

    /// How long a link of this kind works.
    pub fn lifetime_secs(self) -> i64 {
        match self {
            LinkKind::VerifyEmail | LinkKind::ChangeEmail => 24 * 3600,
            LinkKind::ResetPassword => 30 * 60,
            LinkKind::Invitation | LinkKind::NotMe => 7 * 24 * 3600,
        }
    }

    /// The page the link opens.
    pub fn path(self) -> &'static str {
        match self {
            LinkKind::VerifyEmail | LinkKind::ChangeEmail => "/verify-email",
            LinkKind::ResetPassword => "/reset-password",
            LinkKind::Invitation => "/invitation",
            LinkKind::NotMe => "/not-me",
        }
    }
}

/// A link's token as found, with what it carries.
#[derive(Debug, Clone)]
pub struct Link {
    /// The SHA-256 of the token.
    pub hash: String,
    /// The stored facts.
    pub row: ActionTokenRow,
    /// The facts it carries (JSON object).
    pub data: Value,
}

/// Why a link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// No such link (mistyped, tampered, or of another kind).
    Unknown,
    /// It was used already, or a newer one replaced it.
    Used,
    /// Its time is up.
    Expired,
}

/// A link to mail to an account's owner.
#[derive(Debug, Clone)]
pub(crate) struct LinkMail<'a> {
    /// What the link does.
    pub kind: LinkKind,
    /// The account (none for an invitation).
    pub user_id: Option<&'a str>,
    /// Whom the mail greets.
    pub username: &'a str,
    /// Where it goes.
    pub email: &'a str,
    /// The mail template.
    pub template: &'a str,
    /// What the link carries besides the account.
    pub data: Value,
    /// What the mail says besides the username and the link (a JSON object).
    pub context: Value,
}

/// At most this many links of one kind go to one address in [`LINK_WINDOW_SECS`], so the
/// forms that send them cannot be used to flood a mailbox.
const LINKS_PER_WINDOW: i64 = 3;
/// The window of that limit.
const LINK_WINDOW_SECS: i64 = 15 * 60;

impl Services {
    /// Issues a link and queues the mail that carries it (`username` and `link` in the
    /// template's context).
    pub(crate) async fn mail_link(
        &self,
        tx: &mut Tx,
        mail: LinkMail<'_>,
        now: i64,
    ) -> ServiceResult<()> {
        let link = self
            .issue_link(tx, mail.kind, mail.user_id, mail.email, mail.data, now)
            .await?;
        let mut context = mail.context;
        if !context.is_object() {
            context = serde_json::json!({});
        }
        context["username"] = mail.username.into();
        context["link"] = link.into();
        self.queue_mail(tx, mail.email, mail.template, context, now)
            .await
    }

    /// Whether `email` was sent its allowance of `kind` links lately.
    pub(crate) async fn link_limit_reached(
        &self,
        tx: &mut Tx,
        kind: LinkKind,
        email: &str,
        now: i64,
    ) -> ServiceResult<bool> {
        let sent = tx
            .count_action_tokens_since(kind.as_str(), email, now - LINK_WINDOW_SECS)
            .await?;
        Ok(sent >= LINKS_PER_WINDOW)
    }

    /// Issues a link of `kind` to `email` (for `user_id`, when there is an account); returns
    /// the URL to mail, always on the configured issuer.
    pub(crate) async fn issue_link(
        &self,
        tx: &mut Tx,
        kind: LinkKind,
        user_id: Option<&str>,
        email: &str,
        data: Value,
        now: i64,
    ) -> ServiceResult<String> {
        let token = secret::generate();
        tx.insert_action_token(&NewActionToken {
            token_hash: secret::hash(&token),
            kind: kind.as_str(),
            user_id: user_id.map(str::to_string),
            email: email.to_string(),
            data: data.to_string(),
            created_at: now,
            expires_at: now + kind.lifetime_secs(),
        })
        .await?;
        Ok(format!(
            "{}{}?token={token}",
            self.config.issuer,
            kind.path()
        ))
    }

    /// Looks a link up without using it (what a GET may do).
    pub async fn check_link(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> ServiceResult<Result<Link, LinkProblem>> {
        let mut tx = self.db.read().await?;
        self.find_link(&mut tx, kind, token).await
    }

    pub(crate) async fn find_link(
        &self,
        tx: &mut Tx,
        kind: LinkKind,
        token: &str,
    ) -> ServiceResult<Result<Link, LinkProblem>> {
        if token.len() != 43 {
            return Ok(Err(LinkProblem::Unknown));
        }
        let hash = secret::hash(token);
        let Some(row) = tx.find_action_token(&hash, kind.as_str()).await? else {
            return Ok(Err(LinkProblem::Unknown));
        };
        if row.used_at.is_some() {
            return Ok(Err(LinkProblem::Used));
        }
        if row.expires_at <= self.now() {
            return Ok(Err(LinkProblem::Expired));
        }
        let data = serde_json::from_str(&row.data).unwrap_or(Value::Null);
        Ok(Ok(Link { hash, row, data }))
    }

    /// Uses a link inside the caller's transaction: found, live, and consumed by this caller.
    pub(crate) async fn use_link(
        &self,
        tx: &mut Tx,
        kind: LinkKind,
        token: &str,
        now: i64,
    ) -> ServiceResult<Result<Link, LinkProblem>> {
        let link = match self.find_link(tx, kind, token).await? {
            Ok(link) => link,
            Err(problem) => return Ok(Err(problem)),
        };
        if !tx.use_action_token(&link.hash, now).await? {
            return Ok(Err(LinkProblem::Used));
        }
        Ok(Ok(link))
    }
}
