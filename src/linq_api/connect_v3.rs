//! Connecting through Linq's v3 API: the subscription Linq signs with its own `signing_secret`
//! (shown once), which the app keeps as its webhook secret the moment Linq answers.
//!
//! Reconnecting never fails on Linq's "one subscription per `target_url`": the app's own
//! subscription is updated (new address, lines), and one someone else pointed at the app's
//! address is replaced, since its secret is unknown here. Rotation, which v3 has no call for,
//! creates a second subscription at a distinct address before deleting the first, so there is
//! no moment without one; the previous secret stays accepted for the grace period.

use chrono::{DateTime, Utc};

use super::client::{LinqApiError, Subscription};
use super::connection::{same_target, ConnectError, ConnectSettings, Connected, Listing, Rotated};
use super::rest::Rest;
use super::subscriptions_v3::{
    pinned_target, subscribed_events, Line, V3Request, V3Subscription, V3Subscriptions,
};
use crate::config::linq::{ApiVersion, RetiringSecret};
use crate::config::{self, SecretSource};
use crate::linq::Secret;

impl ConnectSettings {
    async fn rest_v3(&self) -> Result<Rest, ConnectError> {
        let (token, _) = self.token().await;
        let token = token.ok_or(ConnectError::NoToken)?;
        Ok(Rest::new(
            &self.api_base,
            token,
            ApiVersion::V3,
            self.timeout,
        )?)
    }

    /// The v3 secret Linq issues must be kept where the listener reads it: the config file.
    fn v3_secret_home(&self) -> Result<(), ConnectError> {
        match self.secret_source {
            SecretSource::ConfigFile | SecretSource::Generated => Ok(()),
            SecretSource::Environment => Err(ConnectError::SecretElsewhere("LINQ_WEBHOOK_SECRET")),
            SecretSource::SecretFile => Err(ConnectError::SecretElsewhere("--secret-file")),
            SecretSource::None => Err(ConnectError::NoSecret),
        }
    }

    /// Connects through v3: updates this app's subscription, or creates one and keeps its
    /// signing secret before anything else happens. `lines`: the numbers to subscribe (empty:
    /// every line; `None`: those the app's subscription has, as after a tunnel restart).
    pub async fn connect_v3(
        &self,
        public_url: &str,
        lines: Option<&[String]>,
    ) -> Result<Connected, ConnectError> {
        self.v3_secret_home()?;
        let url = self.webhook_url(public_url)?;
        let rest = self.rest_v3().await?;
        let api = V3Subscriptions::new(&rest);
        let saved = config::load_config(&self.data_dir)?.linq.subscription_id;
        let existing = api.list().await?;
        let own = existing
            .iter()
            .find(|s| Some(&s.id) == saved.as_ref())
            .cloned();
        // Subscriptions at the app's address that are not its own: their secret is unknown
        // here, so every delivery they make would be refused. They go, making room.
        for other in existing.iter().filter(|s| {
            Some(&s.id) != own.as_ref().map(|o| &o.id) && same_target(&strip(&s.target_url), &url)
        }) {
            api.delete(&other.id).await?;
        }
        let lines = match lines {
            Some(chosen) => chosen.to_vec(),
            None => own
                .as_ref()
                .and_then(|o| o.phone_numbers.clone())
                .unwrap_or_default(),
        };
        let request = V3Request {
            target_url: pinned_target(&url),
            subscribed_events: subscribed_events(),
            phone_numbers: (!lines.is_empty()).then_some(lines),
        };
        let base = public_url.trim().trim_end_matches('/').to_string();
        let (subscription, created) = match own {
            Some(own) => {
                let updated = api.update(&own.id, &request).await?;
                config::update_config(&self.data_dir, |f| f.linq.public_url = Some(base))?;
                (updated, false)
            }
            None => {
                let created = api
                    .create(&request, |secret, id| {
                        self.keep_v3_secret(secret, id, &base)
                    })
                    .await?;
                (created.subscription, true)
            }
        };
        Ok(Connected {
            subscription: as_listed(&subscription),
            created,
            webhook_url: request.target_url,
            warnings: Vec::new(),
        })
    }

    /// Saves a secret Linq just issued as the current webhook secret, with the subscription's
    /// id and address, in one write; the secrets it replaces stay accepted for the grace period.
    fn keep_v3_secret(
        &self,
        secret: &Secret,
        id: Option<&str>,
        base: &str,
    ) -> Result<(), LinqApiError> {
        let text = String::from_utf8_lossy(secret.expose()).into_owned();
        let until = self.grace_end(Utc::now());
        let (id, base) = (id.map(String::from), base.to_string());
        config::update_config(&self.data_dir, move |f| {
            f.linq.drop_expired(Utc::now());
            let old: Vec<String> = std::mem::take(&mut f.webhook_secrets);
            f.linq.retiring_secrets.extend(
                old.into_iter()
                    .flat_map(|s| super::connection::split(&s))
                    .map(|secret| RetiringSecret {
                        secret,
                        expires_at: until,
                    }),
            );
            f.webhook_secrets = vec![text];
            f.linq.subscription_id = id;
            f.linq.public_url = Some(base);
        })
        .map_err(|e| LinqApiError::BadAnswer {
            reason: format!("its signing secret could not be saved ({e})"),
        })
    }

    pub(crate) fn grace_end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.grace).unwrap_or_else(|_| chrono::Duration::days(1))
    }

    /// The v3 subscriptions of the account, in the shape the CLI and Settings list.
    pub async fn list_v3(&self) -> Result<Listing, ConnectError> {
        let rest = self.rest_v3().await?;
        let subscriptions = V3Subscriptions::new(&rest).list().await?;
        let current_id = config::load_config(&self.data_dir)?.linq.subscription_id;
        let subscriptions: Vec<Subscription> = subscriptions.iter().map(as_listed).collect();
        Ok(Listing {
            warnings: super::connection::duplicate_warnings(&subscriptions),
            subscriptions,
            current_id,
        })
    }

    pub async fn delete_v3(&self, id: &str) -> Result<(), ConnectError> {
        let rest = self.rest_v3().await?;
        V3Subscriptions::new(&rest).delete(id).await?;
        Ok(())
    }

    /// The lines the token covers, for choosing which ones to subscribe.
    pub async fn lines(&self) -> Result<Vec<Line>, ConnectError> {
        let rest = self.rest_v3().await?;
        Ok(V3Subscriptions::new(&rest).lines().await?)
    }

    /// v3 rotation: a new subscription at a distinct address (same listener) brings a new
    /// secret, kept at once; then the old subscription is deleted. Events delivered by both in
    /// between are the same events, which the raw log keeps once.
    pub async fn rotate_v3(&self, after_save: impl Fn()) -> Result<Rotated, ConnectError> {
        self.v3_secret_home()?;
        let before = config::load_config(&self.data_dir)?;
        let old_id = before
            .linq
            .subscription_id
            .clone()
            .ok_or(ConnectError::NotConnected)?;
        let base = before.linq.public_url.ok_or(ConnectError::NoPublicUrl)?;
        let url = self.webhook_url(&base)?;
        let rest = self.rest_v3().await?;
        let api = V3Subscriptions::new(&rest);
        let lines = api
            .list()
            .await?
            .into_iter()
            .find(|s| s.id == old_id)
            .and_then(|s| s.phone_numbers);
        let now = Utc::now();
        let request = V3Request {
            // Milliseconds: two rotations in one second still get distinct addresses.
            target_url: format!("{}&rotated={}", pinned_target(&url), now.timestamp_millis()),
            subscribed_events: subscribed_events(),
            phone_numbers: lines,
        };
        let created = api
            .create(&request, |secret, id| {
                self.keep_v3_secret(secret, id, &base)
            })
            .await?;
        after_save();
        if let Err(e) = api.delete(&old_id).await {
            tracing::warn!(error = %e, old_id, "the rotated-out v3 subscription could not be deleted");
        }
        Ok(Rotated {
            subscription_id: created.subscription.id,
            previous_accepted_until: self.grace_end(now),
        })
    }
}

/// A target URL without its query (the version pin, a rotation mark).
fn strip(target: &str) -> String {
    target.split('?').next().unwrap_or(target).to_string()
}

/// A v3 subscription in the listing shape shared with v2 (v3 keeps no delivery counters).
fn as_listed(s: &V3Subscription) -> Subscription {
    Subscription {
        id: s.id.clone(),
        webhook_url: s.target_url.clone(),
        events: s.subscribed_events.clone(),
        active: s.is_active,
        secret_configured: true,
        last_delivered_at: None,
        delivery_attempts: None,
        phone_numbers: s.phone_numbers.clone(),
    }
}
