//! The benchmark's yardstick: a bare poem + sea-orm server on PostgreSQL doing one statement
//! per request (an `INSERT … RETURNING` for a create, an `UPDATE … WHERE id = $1 RETURNING`
//! for a PATCH, a `SELECT … WHERE id = $1` for a GET), with no auth, validation, tags, actions
//! or engine, on the same paths as Ratel's. `cargo xtask bench` runs it side by side with
//! Ratel on fresh databases and prints Ratel's throughput as a multiple of it.

use anyhow::{Context, Result, bail};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json, Path};
use poem::{EndpointExt, IntoResponse, Response, Route, handler, post};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, QueryResult,
    Statement,
};
use serde_json::{Value, json};

/// The pool size of Ratel's default on PostgreSQL.
const POOL: u32 = 16;

/// Serves until killed; prints `listening on http://ADDR` once it accepts connections.
pub async fn serve(database_url: &str) -> Result<()> {
    if !database_url.starts_with("postgres") {
        bail!("the bare server runs on PostgreSQL only");
    }
    let mut opts = ConnectOptions::new(database_url.to_owned());
    opts.max_connections(POOL)
        .min_connections(1)
        .sqlx_logging(false);
    let db = Database::connect(opts)
        .await
        .context("connecting the bare server")?;
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS bare_task (id TEXT PRIMARY KEY, name TEXT NOT NULL, \
         status TEXT NOT NULL, value BIGINT, data JSONB, created TIMESTAMPTZ NOT NULL, \
         updated TIMESTAMPTZ NOT NULL)",
    )
    .await?;
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("no local address")?;
    println!("listening on http://{addr}");
    let app = Route::new()
        .at("/api/default/default/tasks/", post(create))
        .at(
            "/api/default/default/tasks/:id/",
            poem::get(read).patch(update),
        )
        .data(db);
    poem::Server::new_with_acceptor(acceptor).run(app).await?;
    Ok(())
}

fn statement(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

fn shown(row: &QueryResult) -> Result<Value, sea_orm::DbErr> {
    Ok(json!({
        "id": row.try_get::<String>("", "id")?,
        "name": row.try_get::<String>("", "name")?,
        "status": row.try_get::<String>("", "status")?,
        "value": row.try_get::<Option<i64>>("", "value")?,
    }))
}

fn answer(status: StatusCode, row: Result<Option<QueryResult>, sea_orm::DbErr>) -> Response {
    match row.and_then(|row| row.map(|r| shown(&r)).transpose()) {
        Ok(Some(body)) => (status, Json(body)).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[handler]
async fn create(db: Data<&DatabaseConnection>, body: Json<Value>) -> Response {
    let now = chrono::Utc::now();
    let row = db
        .query_one_raw(statement(
            "INSERT INTO bare_task (id, name, status, data, created, updated) \
             VALUES ($1, $2, 'pending', $3, $4, $4) RETURNING id, name, status, value",
            vec![
                ulid::Ulid::new().to_string().into(),
                body["name"].as_str().unwrap_or("").to_owned().into(),
                body.get("data").cloned().into(),
                now.into(),
            ],
        ))
        .await;
    answer(StatusCode::CREATED, row)
}

#[handler]
async fn update(db: Data<&DatabaseConnection>, id: Path<String>, body: Json<Value>) -> Response {
    let row = db
        .query_one_raw(statement(
            "UPDATE bare_task SET status = COALESCE($1, status), value = $2, updated = $3 \
             WHERE id = $4 RETURNING id, name, status, value",
            vec![
                body["status"].as_str().map(str::to_owned).into(),
                body["value"].as_i64().into(),
                chrono::Utc::now().into(),
                id.0.into(),
            ],
        ))
        .await;
    answer(StatusCode::OK, row)
}

#[handler]
async fn read(db: Data<&DatabaseConnection>, id: Path<String>) -> Response {
    let row = db
        .query_one_raw(statement(
            "SELECT id, name, status, value FROM bare_task WHERE id = $1",
            vec![id.0.into()],
        ))
        .await;
    answer(StatusCode::OK, row)
}
