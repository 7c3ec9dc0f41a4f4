//! Delivery-log operations: route → handler.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, OpenApi};

use super::AppState;
use super::auth::Authorized;
use super::error::{ApiError, List, Read};
use super::json::JsonOut;
use super::models::{Delivery, DeliveryDetail, DeliveryStatusEnum, PaginatedDeliveryList};
use super::tags::ApiTags;
use crate::domain::deliveries;
use crate::storage::deliveries::DeliveryFilter;

pub struct DeliveryApi;

#[derive(ApiResponse)]
pub enum Queued {
    /// The delivery, pending again and due now.
    #[oai(status = 202)]
    Accepted(JsonOut<Delivery>),
}

#[OpenApi(tag = "ApiTags::DeliveryEndpoints")]
impl DeliveryApi {
    /// List Deliveries
    #[oai(
        path = "/api/:organization_slug/:project_slug/deliveries",
        method = "get",
        operation_id = "delivery_list"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn delivery_list(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// The pagination cursor value.
        cursor: Query<Option<String>>,
        /// Number of results to return per page (default 100; larger values are capped at 1000).
        #[oai(validator(minimum(value = "1")))]
        page_size: Query<Option<i64>>,
        /// Only the deliveries of this task.
        task: Query<Option<String>>,
        /// Only deliveries in this state.
        status: Query<Option<DeliveryStatusEnum>>,
    ) -> Result<JsonOut<PaginatedDeliveryList>, ApiError<List>> {
        let _ = (organization_slug, project_slug);
        let filter = DeliveryFilter {
            task: task.0,
            status: status.0.map(|s| s.as_str().to_owned()),
        };
        let query = filter.clone();
        let page = deliveries::list(
            &state.store,
            &auth.0,
            filter,
            cursor.0.filter(|c| !c.is_empty()),
            page_size.0.map(|n| n.max(1) as u64),
        )
        .await?;
        let page_url = |cursor: Option<String>| {
            cursor.map(|c| {
                let base = format!(
                    "{}/api/{}/{}/deliveries/",
                    state.public_url, auth.0.organization, auth.0.project
                );
                let mut url = url::Url::parse(&base).unwrap_or_else(|_| {
                    url::Url::parse("http://invalid/").expect("static URL parses")
                });
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("cursor", &c);
                    q.append_pair("page_size", &page.page_size.to_string());
                    if let Some(task) = &query.task {
                        q.append_pair("task", task);
                    }
                    if let Some(status) = &query.status {
                        q.append_pair("status", status);
                    }
                }
                String::from(url)
            })
        };
        Ok(JsonOut(PaginatedDeliveryList {
            next: page_url(page.next),
            previous: page_url(page.previous),
            results: page.deliveries.into_iter().map(Delivery::from).collect(),
        }))
    }

    /// Get Delivery
    #[oai(
        path = "/api/:organization_slug/:project_slug/deliveries/:id",
        method = "get",
        operation_id = "delivery_get"
    )]
    async fn delivery_get(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the delivery
        id: Path<String>,
    ) -> Result<JsonOut<DeliveryDetail>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let (row, attempts) = deliveries::get(&state.store, &auth.0, &id.0).await?;
        Ok(JsonOut(DeliveryDetail::new(row, attempts)))
    }

    /// Retry Delivery
    #[oai(
        path = "/api/:organization_slug/:project_slug/deliveries/:id/retry",
        method = "post",
        operation_id = "delivery_retry"
    )]
    async fn delivery_retry(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the delivery
        id: Path<String>,
    ) -> Result<Queued, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let row = deliveries::retry(&state.store, &auth.0, &id.0).await?;
        Ok(Queued::Accepted(JsonOut(row.into())))
    }
}
