// The PromQL evaluation engine: instant and range queries over a storage::Storage, with
// Prometheus 3.x semantics (left-open lookback and range windows, staleness markers, `@` and
// offset, subqueries, delayed __name__ removal). Errors carry Prometheus' error kinds (see
// value.h: KindOf). An Engine is safe to use from many threads (at most
// max_concurrent_queries evaluate at once); each query opens its own Querier.
//
// Evaluation model: every node is evaluated once for all steps of the query. Instant-vector
// values are series with points at step timestamps; selectors and range functions stream one
// storage series at a time (only its raw samples are in memory), aggregations and vector
// matching work step by step with keys computed once per series. The common dashboard shape
// `agg by (...) (f(metric[range]))` (a reducing aggregation over a one-argument range function
// of a selector with a fixed metric name) is fused: one pass over storage feeds per-(group,
// step) accumulators in the same order, with bit-identical results. Range functions over a
// matrix selector (fused or not) read and evaluate large selections on every core: workers of
// the process-wide pool compute per-series points, which the query's thread combines in series
// order, so results stay bit-identical to one-thread evaluation. Unimplemented functions
// (`info`) fail with an execution error rather than return a wrong answer; functions that only
// read native histograms (histogram_count, ...) return nothing, as storage has none yet.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "promql/ast.h"
#include "promql/value.h"
#include "storage/storage.h"

namespace xscaler::promql {

struct EngineOptions {
  int64_t lookback_delta_ms = 300000;
  // Upper bound on samples held in memory at once by one query (Prometheus' --query.max-samples).
  int64_t max_samples = 50000000;
  // Step for subqueries written without one (`foo[1h:]`).
  int64_t default_subquery_step_ms = 60000;
  // Wall-clock budget per query; 0 disables.
  int64_t timeout_ms = 120000;
  // Queries evaluating at once; further queries wait (within their timeout) for a slot.
  int max_concurrent_queries = 20;
  // Prometheus' `promql-delayed-name-removal` feature: functions and operators mark __name__
  // for removal and it is dropped only at the end (so `label_replace` can still read it). Off
  // by default, as in Prometheus 3.5; its conformance tests run with it on.
  bool delayed_name_removal = false;
  // A range function over a matrix selector (alone or under a fused aggregation) reads and
  // evaluates its series on the process-wide pool (base::ThreadPool::Default) once its
  // selection has at least this many series; smaller ones stay on the query's thread. 0: never.
  // Results (values, order, annotations, errors) are the same either way.
  int parallel_min_series = 256;
};

// Per-query overrides (the HTTP API's `timeout` and `lookback_delta` parameters) and
// cancellation.
struct QueryOptions {
  int64_t timeout_ms = -1;         // <0: the engine's default; 0: none
  int64_t lookback_delta_ms = -1;  // <=0: the engine's default
  // Polled during evaluation; when it becomes true the query fails with kCanceled.
  const std::atomic<bool>* cancel = nullptr;
};

class Engine {
 public:
  explicit Engine(EngineOptions options) : options_(options) {}
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Evaluates `query` at `t_ms`. Any value type may result.
  absl::StatusOr<Result> InstantQuery(storage::Storage& storage, std::string_view query,
                                      int64_t t_ms, const QueryOptions& qo = {});
  // Evaluates `query` at start, start+step, ... <= end. The result is a Matrix sorted by
  // labels (a scalar expression yields one series without labels). Fails with bad_data unless
  // step_ms > 0 and end_ms >= start_ms.
  absl::StatusOr<Result> RangeQuery(storage::Storage& storage, std::string_view query,
                                    int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                    const QueryOptions& qo = {});

  // The same for an already-parsed expression; `range` false means an instant query at start.
  absl::StatusOr<Result> Exec(storage::Storage& storage, const Expr& expr, int64_t start_ms,
                              int64_t end_ms, int64_t step_ms, bool range,
                              const QueryOptions& qo = {});

  const EngineOptions& options() const { return options_; }

 private:
  const EngineOptions options_;
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace xscaler::promql
