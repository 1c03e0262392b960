//! Extractors whose rejections are [`ApiError`]s (JSON), never axum's text/plain ones: a JSON
//! body ([`JsonBody`], also optional) and path parameters ([`Path`]).

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body (`Content-Type: application/json`).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(v) = <axum::Json<T> as FromRequest<S>>::from_request(req, state).await?;
        Ok(JsonBody(v))
    }
}

/// `Option<JsonBody<T>>`: `None` without a `Content-Type`, else the body must be valid JSON.
impl<T, S> OptionalFromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let v = <axum::Json<T> as OptionalFromRequest<S>>::from_request(req, state).await?;
        Ok(v.map(|axum::Json(v)| JsonBody(v)))
    }
}

/// Path parameters.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(v))
    }
}
