//! Web hook endpoints and the delivery log of the client's project, and
//! [`webhook::verify`](crate::webhook::verify) for receivers.

use crate::client::Client;
use crate::error::Error;
use crate::generated::types;

/// A new web hook endpoint.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    slug: String,
    url: String,
    description: Option<String>,
    enabled: Option<bool>,
}

impl NewWebhook {
    /// An endpoint `slug` (the `webhook:<slug>` of actions) that receives events at `url`.
    pub fn new(slug: impl Into<String>, url: impl Into<String>) -> NewWebhook {
        NewWebhook {
            slug: slug.into(),
            url: url.into(),
            description: None,
            enabled: None,
        }
    }

    /// A description shown in listings.
    pub fn description(mut self, description: impl Into<String>) -> NewWebhook {
        self.description = Some(description.into());
        self
    }

    /// Created disabled (`false`) or enabled (the default).
    pub fn enabled(mut self, enabled: bool) -> NewWebhook {
        self.enabled = Some(enabled);
        self
    }
}

/// A new project-wide action: it applies to every task of the project whose name matches
/// its filter.
#[derive(Clone, Debug)]
pub struct NewProjectAction {
    name: String,
    name_filter: Option<String>,
    trigger: String,
    integration: String,
    config: Option<serde_json::Value>,
}

impl NewProjectAction {
    /// An action called `name` firing `trigger` (e.g. `"error,stale"`) through `integration`
    /// (`email` or `webhook:<slug>`) for every task of the project.
    pub fn new(
        name: impl Into<String>,
        trigger: impl Into<String>,
        integration: impl Into<String>,
    ) -> NewProjectAction {
        NewProjectAction {
            name: name.into(),
            name_filter: None,
            trigger: trigger.into(),
            integration: integration.into(),
            config: None,
        }
    }

    /// Only tasks whose name matches this regular expression (searched for, unanchored).
    pub fn name_filter(mut self, filter: impl Into<String>) -> NewProjectAction {
        self.name_filter = Some(filter.into());
        self
    }

    /// The integration's settings (`{"to": "ops@example.com"}` for email).
    pub fn config(mut self, config: serde_json::Value) -> NewProjectAction {
        self.config = Some(config);
        self
    }
}

/// Which deliveries to list.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    /// Only this task's deliveries.
    pub task: Option<String>,
    /// Only deliveries in this state.
    pub status: Option<types::DeliveryStatusEnum>,
}

fn invalid(err: impl std::fmt::Display) -> Error {
    Error::Config(err.to_string())
}

impl Client {
    /// Registers a web hook endpoint; the answer carries its signing secret, shown only once.
    pub async fn create_webhook(&self, new: NewWebhook) -> Result<types::WebhookWithSecret, Error> {
        let body = types::WebhookRequest {
            slug: new.slug.parse().map_err(invalid)?,
            url: new.url.parse().map_err(invalid)?,
            description: new
                .description
                .map(|d| d.parse())
                .transpose()
                .map_err(invalid)?,
            enabled: new.enabled,
        };
        Ok(self
            .api()
            .webhook_create(self.org(), self.project(), &body)
            .await?
            .into_inner())
    }

    /// The project's web hook endpoints.
    pub async fn webhooks(&self) -> Result<Vec<types::Webhook>, Error> {
        self.idempotent(|| async {
            Ok(self
                .api()
                .webhook_list(self.org(), self.project())
                .await?
                .into_inner())
        })
        .await
    }

    /// A new signing secret for an endpoint; the previous one keeps signing for 24 hours.
    pub async fn rotate_webhook_secret(&self, slug: &str) -> Result<String, Error> {
        Ok(self
            .api()
            .webhook_rotate_secret(self.org(), self.project(), slug)
            .await?
            .into_inner()
            .secret)
    }

    /// Enables or disables an endpoint.
    pub async fn set_webhook_enabled(
        &self,
        slug: &str,
        enabled: bool,
    ) -> Result<types::Webhook, Error> {
        let body = types::PatchedWebhookRequest {
            description: None,
            enabled: Some(enabled),
            url: None,
        };
        self.idempotent(|| async {
            Ok(self
                .api()
                .webhook_partial_update(self.org(), self.project(), slug, &body)
                .await?
                .into_inner())
        })
        .await
    }

    /// Deletes an endpoint (its pending deliveries fail).
    pub async fn delete_webhook(&self, slug: &str) -> Result<(), Error> {
        self.idempotent(|| async {
            self.api()
                .webhook_delete(self.org(), self.project(), slug)
                .await?;
            Ok(())
        })
        .await
    }

    /// Adds a project-wide action.
    pub async fn create_project_action(
        &self,
        new: NewProjectAction,
    ) -> Result<types::ProjectAction, Error> {
        let body = types::ProjectActionRequest {
            name: new.name.parse().map_err(invalid)?,
            name_filter: new
                .name_filter
                .map(|f| f.parse())
                .transpose()
                .map_err(invalid)?,
            trigger: new.trigger.parse().map_err(invalid)?,
            integration: new.integration.parse().map_err(invalid)?,
            config: new.config,
            enabled: None,
        };
        Ok(self
            .api()
            .project_action_create(self.org(), self.project(), &body)
            .await?
            .into_inner())
    }

    /// The project's project-wide actions, oldest first.
    pub async fn project_actions(&self) -> Result<Vec<types::ProjectAction>, Error> {
        self.idempotent(|| async {
            Ok(self
                .api()
                .project_action_list(self.org(), self.project())
                .await?
                .into_inner())
        })
        .await
    }

    /// Enables or disables a project-wide action (disabled, it fires nothing).
    pub async fn set_project_action_enabled(
        &self,
        id: i64,
        enabled: bool,
    ) -> Result<types::ProjectAction, Error> {
        let body = types::PatchedProjectActionRequest {
            enabled: Some(enabled),
            ..Default::default()
        };
        self.idempotent(|| async {
            Ok(self
                .api()
                .project_action_partial_update(self.org(), self.project(), id, &body)
                .await?
                .into_inner())
        })
        .await
    }

    /// Deletes a project-wide action.
    pub async fn delete_project_action(&self, id: i64) -> Result<(), Error> {
        self.idempotent(|| async {
            self.api()
                .project_action_delete(self.org(), self.project(), id)
                .await?;
            Ok(())
        })
        .await
    }

    /// One page of the delivery log, newest first, and the cursor of the next page.
    pub async fn deliveries(
        &self,
        filter: &DeliveryFilter,
        cursor: Option<&str>,
    ) -> Result<(Vec<types::Delivery>, Option<String>), Error> {
        let page = self
            .idempotent(|| async {
                Ok(self
                    .api()
                    .delivery_list(
                        self.org(),
                        self.project(),
                        cursor,
                        None,
                        filter.status,
                        filter.task.as_deref(),
                    )
                    .await?
                    .into_inner())
            })
            .await?;
        let next = page.next.as_deref().and_then(crate::list::cursor_of);
        Ok((page.results, next))
    }

    /// A delivery with every attempt.
    pub async fn delivery(&self, id: &str) -> Result<types::DeliveryDetail, Error> {
        self.idempotent(|| async {
            Ok(self
                .api()
                .delivery_get(self.org(), self.project(), id)
                .await?
                .into_inner())
        })
        .await
    }

    /// Queues a delivery again, due now.
    pub async fn retry_delivery(&self, id: &str) -> Result<types::Delivery, Error> {
        Ok(self
            .api()
            .delivery_retry(self.org(), self.project(), id)
            .await?
            .into_inner())
    }
}
