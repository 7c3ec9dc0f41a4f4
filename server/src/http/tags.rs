//! OpenAPI tags grouping the operations.

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTags {
    /// Task Endpoints
    #[oai(rename = "Task Endpoints")]
    TaskEndpoints,
    /// Action Endpoints
    #[oai(rename = "Action Endpoints")]
    ActionEndpoints,
    /// Web Hook Endpoints
    #[oai(rename = "Web Hook Endpoints")]
    WebhookEndpoints,
    /// Project-wide Action Endpoints
    #[oai(rename = "Project-wide Action Endpoints")]
    ProjectActionEndpoints,
    /// Monitor Endpoints
    #[oai(rename = "Monitor Endpoints")]
    MonitorEndpoints,
    /// Delivery Endpoints
    #[oai(rename = "Delivery Endpoints")]
    DeliveryEndpoints,
}
