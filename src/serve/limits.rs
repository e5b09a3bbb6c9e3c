//! Limits that keep strangers' clients from starving feed readers: header size and count, time
//! to send the request head (slowloris), time to answer, and open connections.
//!
//! Kept apart from the routes on purpose: [`harden`] wraps any router, and [`serve`] replaces
//! `axum::serve` with an accept loop whose hyper connections have these limits set (axum's own
//! loop sets no timer, so it has no header read timeout).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Layer, Service};

/// The limits in force.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The whole request head must arrive within this.
    pub header_read_timeout: Duration,
    /// A handler that takes longer is answered 408.
    pub request_timeout: Duration,
    /// Bytes buffered for one request head (hyper answers 431 past it).
    pub max_header_bytes: usize,
    /// Header lines in one request.
    pub max_headers: usize,
    /// Open connections; more wait in the kernel's backlog until one closes.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_connections: 512,
        }
    }
}

/// Adds the per-request limits to a router.
pub fn harden(router: Router, limits: &Limits) -> Router {
    router.layer(RequestTimeout {
        timeout: limits.request_timeout,
    })
}

/// Answers 408 when a handler has not answered within `timeout` of first waiting.
///
/// Unlike tower-http's `TimeoutLayer`, which starts a timer for every request, the timer starts
/// only when the handler does not answer on its first poll. Most requests are a reader's
/// conditional GET of a cached feed, answered on that first poll; inserting and cancelling a
/// timer for each was about a twentieth of the server's CPU time on them.
#[derive(Clone, Copy)]
struct RequestTimeout {
    timeout: Duration,
}

impl<S> Layer<S> for RequestTimeout {
    type Service = TimedOut<S>;

    fn layer(&self, inner: S) -> TimedOut<S> {
        TimedOut {
            inner,
            timeout: self.timeout,
        }
    }
}

#[derive(Clone)]
struct TimedOut<S> {
    inner: S,
    timeout: Duration,
}

impl<S, B> Service<Request<B>> for TimedOut<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimedOutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        TimedOutFuture {
            inner: self.inner.call(request),
            timeout: self.timeout,
            deadline: None,
        }
    }
}

pin_project_lite::pin_project! {
    struct TimedOutFuture<F> {
        #[pin]
        inner: F,
        timeout: Duration,
        // Boxed: the future of an answer that needs no timer stays small.
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<F, E> Future for TimedOutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.inner.poll(cx) {
            return Poll::Ready(output);
        }
        let timeout = *this.timeout;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(StatusCode::REQUEST_TIMEOUT.into_response())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Serves `router` on `listener` with the connection limits until `shutdown` resolves, then
/// stops accepting and lets requests in flight finish.
///
/// Connections are accepted here and handed out in turn to one thread per core, each with its
/// own single-threaded runtime, as nginx's workers do: a connection stays on its thread, so
/// answering a request never wakes another thread. On tokio's shared runtime those cross-thread
/// wake-ups were a good part of a cached feed's cost. Handing out in turn, rather than letting
/// each thread accept for itself, keeps the threads evenly loaded: a thread that won most of a
/// burst of connections served them alone.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = harden(router, &limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let threads = crate::parallel::cores();
    let mut workers = Vec::with_capacity(threads);
    let mut handoff = Vec::with_capacity(threads);
    for n in 0..threads {
        let (worker, give) = start_worker(n, threads, router.clone(), limits)?;
        workers.push(worker);
        handoff.push(give);
    }
    let mut shutdown = std::pin::pin!(shutdown);
    let mut worker_lost = false;
    for turn in (0..threads).cycle() {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        // Out of this runtime's reactor, into the worker's.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "cannot hand a connection to a worker thread");
                continue;
            }
        };
        if handoff[turn].send((stream, permit)).is_err() {
            worker_lost = true;
            break;
        }
    }
    drop(listener);
    // Closing the hand-off channels tells each thread to finish its connections and stop.
    drop(handoff);
    let joined = tokio::task::spawn_blocking(move || {
        for worker in workers {
            match worker.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "an HTTP thread could not start"),
                Err(_) => tracing::error!("an HTTP thread panicked"),
            }
        }
    })
    .await;
    if worker_lost {
        return Err(std::io::Error::other(
            "an HTTP thread stopped, so the server stopped accepting",
        ));
    }
    joined.map_err(std::io::Error::other)
}

/// Blocking threads (feed renders, store reads) for all serving threads together: tokio's
/// default for one runtime.
const BLOCKING_THREADS: usize = 512;

/// A connection handed to a worker thread, with its place under the connection limit.
type Accepted = (std::net::TcpStream, tokio::sync::OwnedSemaphorePermit);

/// Starts worker thread `n` of `threads`, with its own single-threaded runtime; returns the
/// thread and where to hand it connections.
fn start_worker(
    n: usize,
    threads: usize,
    router: Router,
    limits: Limits,
) -> std::io::Result<(
    std::thread::JoinHandle<std::io::Result<()>>,
    tokio::sync::mpsc::UnboundedSender<Accepted>,
)> {
    let (give, connections) = tokio::sync::mpsc::unbounded_channel();
    let worker = std::thread::Builder::new()
        .name(format!("vestnik-http-{n}"))
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                // Renders and store reads go to each runtime's own blocking pool: together they
                // get tokio's default for one pool, not that many times over.
                .max_blocking_threads((BLOCKING_THREADS / threads).max(4))
                .build()?
                .block_on(serve_connections(connections, router, limits));
            Ok(())
        })?;
    Ok((worker, give))
}

/// One worker thread of [`serve`]: serves each connection it is given, on this thread, until
/// the hand-off closes, then lets the connections finish their requests in flight.
async fn serve_connections(
    mut connections: tokio::sync::mpsc::UnboundedReceiver<Accepted>,
    router: Router,
    limits: Limits,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    while let Some((stream, permit)) = connections.recv().await {
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "cannot serve a connection");
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!(error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    graceful.shutdown().await;
}
