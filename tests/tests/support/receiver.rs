//! A real HTTP receiver for web hook tests, on 127.0.0.1 and a port of its own: it records
//! every request and answers as told (a status, a redirect, slowly), and can go down (its
//! port refuses connections) and come back on the same port.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::{Body, EndpointExt, Request, Response, Route, Server, handler};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How the receiver answers.
#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16),
    /// A status with `Retry-After: secs`.
    RetryAfter(u16, u64),
    /// 308 to another URL.
    Redirect,
    /// 200 after a delay.
    Slow(Duration),
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

struct State {
    answer: Mutex<Answer>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

pub struct Receiver {
    pub port: u16,
    state: Arc<State>,
    server: Option<JoinHandle<()>>,
}

#[handler]
async fn receive(req: &Request, body: Body, state: poem::web::Data<&Arc<State>>) -> Response {
    let body = body.into_vec().await.unwrap_or_default();
    let mut headers = http::HeaderMap::new();
    for (name, value) in req.headers() {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    let answer = state.answer.lock().unwrap().clone();
    if let Answer::Slow(delay) = &answer {
        tokio::time::sleep(*delay).await;
    }
    state.received.lock().unwrap().push(Received {
        headers,
        body,
        at: Instant::now(),
    });
    state.arrived.notify_waiters();
    match answer {
        Answer::Status(code) => Response::builder()
            .status(StatusCode::from_u16(code).unwrap())
            .finish(),
        Answer::RetryAfter(code, secs) => Response::builder()
            .status(StatusCode::from_u16(code).unwrap())
            .header("retry-after", secs.to_string())
            .finish(),
        Answer::Redirect => Response::builder()
            .status(StatusCode::PERMANENT_REDIRECT)
            .header("location", "http://127.0.0.1:9/elsewhere")
            .finish(),
        Answer::Slow(_) => Response::builder().status(StatusCode::OK).finish(),
    }
}

impl Receiver {
    pub async fn start(answer: Answer) -> Receiver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Receiver {
            port,
            state: Arc::new(State {
                answer: Mutex::new(answer),
                received: Mutex::new(Vec::new()),
                arrived: Notify::new(),
            }),
            server: None,
        };
        r.up().await;
        r
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn answer(&self, answer: Answer) {
        *self.state.answer.lock().unwrap() = answer;
    }

    /// Starts listening (again) on the receiver's port.
    pub async fn up(&mut self) {
        let app = Route::new()
            .at("/*path", poem::post(receive))
            .data(self.state.clone());
        let addr = format!("127.0.0.1:{}", self.port);
        let server = tokio::spawn(async move {
            let _ = Server::new(TcpListener::bind(addr)).run(app).await;
        });
        self.server = Some(server);
        // Ready once it accepts connections.
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "receiver did not start");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops listening: connections to the port are refused.
    pub async fn down(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (or panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let arrived = self.state.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "expected {n} requests within {within:?}, got {}: {:?}",
                got.len(),
                got.iter().map(|r| r.json()).collect::<Vec<_>>()
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), arrived).await;
        }
    }
}
