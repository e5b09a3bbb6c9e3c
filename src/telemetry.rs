//! Metrics in the Prometheus text format (`GET /metrics`): counters and histograms recorded
//! where things happen, gauges read from the store when scraped.
//!
//! This module only holds the recorder; the stages record their own figures through the
//! `metrics` macros (after [`handle`], so the recorder is installed), which keeps it below them.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

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
