//! One query's run on the server: its limits (a slot among `max_concurrent_queries`, a
//! deadline, a row budget) and what happens at its end, however it ends — finished, failed,
//! over a limit, or dropped because the client went away (which cancels the plan: dropping
//! the stream stops its tasks and scans).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arrow_flight::error::FlightError;
use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::{Future, Stream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::metrics::Outcome;

/// The slots of queries running at once.
pub struct Slots {
    semaphore: Arc<Semaphore>,
    wait: Duration,
}

impl Slots {
    /// `n` slots; a query waits at most `wait` for one.
    pub fn new(n: usize, wait: Duration) -> Slots {
        Slots { semaphore: Arc::new(Semaphore::new(n)), wait }
    }

    /// A slot, or `ResourceExhausted` when none freed up in time.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, Status> {
        match tokio::time::timeout(self.wait, self.semaphore.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(Status::unavailable("the server is shutting down")),
            Err(_) => Err(Status::resource_exhausted(format!(
                "the server is busy: every query slot stayed taken for {} s; try again",
                self.wait.as_secs_f64()
            ))),
        }
    }
}

/// Called once when a query ends: its outcome and the rows it sent.
pub type OnEnd = Box<dyn FnOnce(Outcome, u64) + Send>;

/// A query's result stream under its limits.
pub struct Guarded {
    inner: SendableRecordBatchStream,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
    max_rows: u64,
    rows: u64,
    on_end: Option<OnEnd>,
    _slot: OwnedSemaphorePermit,
}

impl Guarded {
    /// `inner` run in `slot`, for at most `timeout` and `max_rows` rows; `on_end` hears how it
    /// ended.
    pub fn new(
        inner: SendableRecordBatchStream,
        slot: OwnedSemaphorePermit,
        timeout: Duration,
        max_rows: u64,
        on_end: OnEnd,
    ) -> Guarded {
        Guarded {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            max_rows,
            rows: 0,
            on_end: Some(on_end),
            _slot: slot,
        }
    }

    fn end(&mut self, outcome: Outcome) {
        if let Some(on_end) = self.on_end.take() {
            on_end(outcome, self.rows);
        }
    }
}

impl Stream for Guarded {
    type Item = Result<RecordBatch, FlightError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.on_end.is_none() {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.end(Outcome::Timeout);
            let status =
                Status::deadline_exceeded(format!("the query ran longer than query_timeout ({:?})", self.timeout));
            return Poll::Ready(Some(Err(FlightError::Tonic(Box::new(status)))));
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.end(Outcome::Ok);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                let status = status_of(&e);
                self.end(if status.code() == tonic::Code::ResourceExhausted {
                    Outcome::Memory
                } else {
                    Outcome::Error
                });
                Poll::Ready(Some(Err(FlightError::Tonic(Box::new(status)))))
            }
            Poll::Ready(Some(Ok(batch))) => {
                self.rows += batch.num_rows() as u64;
                if self.rows > self.max_rows {
                    self.end(Outcome::TooManyRows);
                    let status = Status::resource_exhausted(format!(
                        "the result has more than max_result_rows ({}) rows; add a LIMIT or aggregate",
                        self.max_rows
                    ));
                    return Poll::Ready(Some(Err(FlightError::Tonic(Box::new(status)))));
                }
                Poll::Ready(Some(Ok(batch)))
            }
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.end(Outcome::Cancelled);
    }
}

/// The gRPC status of a planning or execution error: resource limits are ResourceExhausted,
/// SQL and plan errors InvalidArgument, the rest Internal; the message is one line.
pub fn status_of(e: &DataFusionError) -> Status {
    let message = logfusion_engine::one_line(e);
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => Status::resource_exhausted(message),
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => {
            Status::invalid_argument(message)
        }
        DataFusionError::NotImplemented(_) => Status::unimplemented(message),
        _ if message.contains("exceeded the allowable limit") => Status::resource_exhausted(message),
        _ => Status::internal(message),
    }
}
