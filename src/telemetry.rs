//! Metrics in the Prometheus text format (`GET /metrics`): counters and histograms recorded
//! where things happen, gauges read from the store when scraped.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::ingest::{PollReport, PollStatus};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full("vestnik_fetch_seconds".into()),
                &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics stays empty");
        }
        handle
    })
}

/// One finished poll: its outcome, latency, bytes, new entries and merged duplicates.
pub fn record_poll(report: &PollReport) {
    handle();
    let outcome = match report.status {
        PollStatus::Ingested => "ingested",
        PollStatus::NotModified => "not_modified",
        PollStatus::Failed => "failed",
        PollStatus::Disabled => "disabled",
    };
    let source = report.source_id.clone();
    metrics::counter!("vestnik_polls_total", "source" => source.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("vestnik_fetch_seconds", "source" => source.clone())
        .record(report.elapsed_ms as f64 / 1000.0);
    metrics::counter!("vestnik_fetched_bytes_total", "source" => source.clone())
        .increment(report.bytes as u64);
    metrics::counter!("vestnik_items_ingested_total", "source" => source.clone())
        .increment(report.inserted as u64);
    metrics::counter!("vestnik_duplicates_merged_total", "source" => source)
        .increment((report.updated + report.unchanged) as u64);
}

/// One HTTP request answered. The counter handle is kept per thread and per (route, status):
/// a conditional feed request costs little more than this, and building the labelled key and
/// finding it in the registry each time was a measurable share of it.
pub fn record_request(route: &'static str, status: u16) {
    thread_local! {
        static COUNTERS: std::cell::RefCell<std::collections::HashMap<(&'static str, u16), metrics::Counter>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    COUNTERS.with(|counters| {
        counters
            .borrow_mut()
            .entry((route, status))
            .or_insert_with(|| {
                handle();
                metrics::counter!(
                    "vestnik_http_requests_total",
                    "route" => route,
                    "status" => status.to_string()
                )
            })
            .increment(1);
    });
}
