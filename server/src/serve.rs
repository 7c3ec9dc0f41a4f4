//! `ratel-server serve`: bootstrap, listen, and shut down gracefully.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use poem::Server;
use poem::listener::{Acceptor, Listener, TcpListener};

use crate::alerting::Engine;
use crate::cli::{create_key, open};
use crate::config::Settings;
use crate::domain::auth::KeyCache;
use crate::http::{self, AppState};

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let store = open(&settings).await?;
    let first_key = if store.has_any_key().await? {
        None
    } else {
        Some(create_key(&store, "default", "default").await?.1)
    };

    let acceptor = TcpListener::bind(settings.bind.clone())
        .into_acceptor()
        .await?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| anyhow::anyhow!("listener has no address"))?;
    let public_url = public_base(&settings, &local.to_string());
    if let Some(key) = first_key {
        println!("Created organization \"default\", project \"default\" and a project key:");
        println!("  {key}");
        println!("Try it:");
        println!("  curl -H 'Authorization: Bearer {key}' {public_url}/api/default/default/tasks/");
    }

    let limiter = settings.rate_limit.and_then(NonZeroU32::new).map(|rate| {
        let burst = settings
            .rate_limit_burst
            .and_then(NonZeroU32::new)
            .unwrap_or(rate);
        Arc::new(RateLimiter::keyed(
            Quota::per_second(rate).allow_burst(burst),
        ))
    });
    let engine = settings.engine()?;
    Engine::start(
        store.clone(),
        engine,
        Arc::new(http::present::ApiPresenter {
            base: public_url.clone(),
        }),
    )
    .await?;
    let keys = KeyCache::new(Duration::from_secs(settings.key_cache_secs));
    keys.watch(store.clone());
    let state = AppState {
        store: store.clone(),
        public_url: public_url.clone(),
        body_limit: settings.body_limit,
        keys,
        limiter,
        schema: Arc::new(http::docs::ServedSchema::new(&public_url)),
    };
    println!("listening on http://{local}");
    tracing::info!(%local, %public_url, "listening");

    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            http::app(state),
            shutdown_signal(),
            Some(Duration::from_secs(settings.shutdown_grace_secs)),
        )
        .await?;
    tracing::info!("stopped");
    store.close().await;
    Ok(())
}

fn public_base(settings: &Settings, bind: &str) -> String {
    settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bind}"))
        .trim_end_matches('/')
        .to_owned()
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing in-flight requests");
}
