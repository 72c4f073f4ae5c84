//! CPU-heavy request work off the async workers: the input guard (sentence encoder,
//! detectors) and the schema and grammar compiles of a request run on blocking threads, at
//! most one job per core at a time, so a flood of expensive requests queues here instead of
//! stalling every connection. A client that leaves while its job waits for a turn takes no
//! CPU; a job that has started runs to its end, bounded by the request limits.

use crate::error::ApiError;

/// Jobs running at once: one per core (more would only compete for the same cores).
static TURNS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// Runs `f` on a blocking thread when a turn is free. `what` names the job in errors.
pub async fn run<T, F>(what: &'static str, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let _turn = TURNS
        .acquire()
        .await
        .map_err(|_| ApiError::Internal(format!("{what}: work queue closed")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("{what}: {e}")))
}
