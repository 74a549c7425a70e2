#include "api/ingest_handlers.h"

#include <chrono>
#include <string>

#include "api/envelope.h"
#include "api/json_writer.h"
#include "api/params.h"
#include "http/str.h"
#include "ingest/remote_write/remote_write.h"

namespace xscaler::api {
namespace {

using http::Cat;
using http::Sv;

// Samples the storage dropped at commit because a concurrent request stored newer samples of
// the same series first: the client must hear they were not stored.
void ReportCommitDrops(const storage::Appender& app, ingest::IngestReport& report) {
  for (const storage::CommitDrop& d : app.DroppedAtCommit()) {
    report.AddAccepted(-d.samples);
    report.Reject(d.metric,
                  "out of order sample: a concurrent request stored a newer sample of the same "
                  "series first; send each series from one writer, in time order",
                  d.samples);
  }
}
using ingest::otlp::Encoding;

constexpr std::string_view kRetryAfterSeconds = "5";

// Why a commit (WAL write + fsync) failed, for the client and the ingestion log. ENOSPC
// arrives as ResourceExhausted; nothing is acknowledged, and the WAL writer cuts the damaged
// tail so later commits succeed again once space is freed, without a restart.
std::string CommitFailureMessage(const absl::Status& commit) {
  if (commit.code() == absl::StatusCode::kResourceExhausted) {
    return Cat(
        "the server's disk is full: the samples were not stored; retry later (ingestion "
        "resumes by itself once space is freed): ",
        Sv(commit.message()));
  }
  return Cat("could not persist the samples, retry later: ", Sv(commit.message()));
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ClientOf(const http::Request& req) {
  std::string client = req.remote_address;
  if (auto ua = req.Header("User-Agent"); ua.has_value() && !ua->empty()) {
    client += Cat(" ", *ua);
  }
  return client;
}

// google.rpc.Code for an HTTP status (the code is informational for OTLP clients).
int GrpcCodeFor(int status) {
  switch (status) {
    case 400:
      return 3;  // INVALID_ARGUMENT
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 5;  // NOT_FOUND
    case 405:
    case 415:
      return 12;  // UNIMPLEMENTED
    case 413:
    case 429:
      return 8;  // RESOURCE_EXHAUSTED
    case 503:
      return 14;  // UNAVAILABLE
    default:
      return status >= 500 ? 13 : 3;  // INTERNAL : INVALID_ARGUMENT
  }
}

// Civil date-time "2026-11-25T10:00:00.123Z" for a unix time in ms.
std::string FormatRfc3339(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int64_t frac = ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  // Howard Hinnant's civil_from_days.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60), static_cast<long long>(frac));
  return buf;
}

// Remembers the outcome of one request in the tenant's log.
void Remember(tenant::IngestionLog* log, int64_t now, std::string_view protocol,
              const std::string& client, int status, const ingest::IngestReport* report,
              std::string_view request_error) {
  if (log == nullptr) return;
  int64_t rejected = 0;
  if (!request_error.empty()) {
    log->Record({now, std::string(protocol), client, status, "", std::string(request_error), 0});
  }
  if (report != nullptr) {
    rejected = report->rejected_points();
    for (const auto& r : report->rejections()) {
      log->Record({now, std::string(protocol), client, status, r.metric, r.reason, r.points});
    }
  }
  log->RecordPush({now, std::string(protocol), client,
                   report != nullptr && request_error.empty() ? report->accepted_samples() : 0,
                   rejected, status});
}

}  // namespace

std::optional<Encoding> OtlpEncodingFor(std::optional<std::string_view> type) {
  if (!type.has_value()) return std::nullopt;
  std::string media = http::Lower(http::Trim(type->substr(0, type->find(';'))));
  if (media == "application/x-protobuf") return Encoding::kProtobuf;
  if (media == "application/json") return Encoding::kJson;
  return std::nullopt;
}

void WriteOtlpError(const http::Request& req, http::Response& res, int status,
                    std::string_view message) {
  Encoding enc = OtlpEncodingFor(req.Header("Content-Type")).value_or(Encoding::kJson);
  res.status = status;
  res.content_type = enc == Encoding::kJson ? "application/json" : "application/x-protobuf";
  res.body = ingest::otlp::EncodeStatus(enc, GrpcCodeFor(status), message);
}

bool CheckOtlpContentType(http::Request& req, http::Response& res) {
  if (OtlpEncodingFor(req.Header("Content-Type")).has_value()) return true;
  std::string_view got = req.Header("Content-Type").value_or("");
  WriteOtlpError(req, res, 415,
                 got.empty() ? "missing Content-Type: OTLP/HTTP bodies are "
                               "application/x-protobuf or application/json"
                             : Cat("unsupported Content-Type \"", got,
                                   "\": OTLP/HTTP bodies are application/x-protobuf or "
                                   "application/json"));
  return false;
}

IngestApi::IngestApi(IngestApiConfig config) : config_(std::move(config)) {
  if (!config_.now_ms) config_.now_ms = &WallClockMs;
}

void IngestApi::Otlp(http::Request& req, http::Response& res) const {
  std::optional<Encoding> enc = OtlpEncodingFor(req.Header("Content-Type"));
  if (!enc.has_value()) {
    CheckOtlpContentType(req, res);
    return;
  }
  std::string client = ClientOf(req);
  absl::StatusOr<IngestTarget> target = config_.get_or_create(req.tenant);
  if (!target.ok()) {
    if (target.status().code() == absl::StatusCode::kInvalidArgument) {
      return WriteOtlpError(req, res, 400, Sv(target.status().message()));
    }
    WriteOtlpError(req, res, 503,
                   Cat("tenant storage unavailable: ", Sv(target.status().message())));
    res.SetHeader("Retry-After", std::string(kRetryAfterSeconds));
    return;
  }
  std::unique_ptr<storage::Appender> app = target->db->NewAppender();
  ingest::IngestReport report;
  absl::Status st = target->otlp->Ingest(req.body, *enc, *app, report);
  if (!st.ok()) {
    app->Rollback();
    int status = st.code() == absl::StatusCode::kInvalidArgument ? 400 : 503;
    std::string msg =
        Cat(status == 400 ? "cannot decode OTLP metrics request: " : "", Sv(st.message()));
    WriteOtlpError(req, res, status, msg);
    if (status == 503) res.SetHeader("Retry-After", std::string(kRetryAfterSeconds));
    Remember(target->log, config_.now_ms(), "otlp", client, status, nullptr, msg);
    return;
  }
  if (absl::Status commit = app->Commit(); !commit.ok()) {
    std::string msg = CommitFailureMessage(commit);
    WriteOtlpError(req, res, 503, msg);
    res.SetHeader("Retry-After", std::string(kRetryAfterSeconds));
    Remember(target->log, config_.now_ms(), "otlp", client, 503, nullptr, msg);
    return;
  }
  ReportCommitDrops(*app, report);
  res.status = 200;
  res.content_type = *enc == Encoding::kJson ? "application/json" : "application/x-protobuf";
  res.body = ingest::otlp::EncodeExportResponse(*enc, report);
  Remember(target->log, config_.now_ms(), "otlp", client, 200, &report, "");
}

void IngestApi::RemoteWrite(http::Request& req, http::Response& res) const {
  if (auto enc = req.Header("Content-Encoding");
      enc.has_value() && !enc->empty() && !http::EqualsIgnoreCase(*enc, "snappy")) {
    return http::WriteTextError(
        req, res, 415,
        Cat("unsupported Content-Encoding \"", *enc,
            "\": remote write bodies are snappy-compressed (Content-Encoding: snappy)"));
  }
  if (auto type = req.Header("Content-Type");
      type.has_value() && type->find("io.prometheus.write.v2") != std::string_view::npos) {
    return http::WriteTextError(
        req, res, 415,
        "remote write 2.0 (io.prometheus.write.v2.Request) is not supported yet; configure "
        "the sender for remote write 1.0 (prometheus.WriteRequest)");
  }
  std::string client = ClientOf(req);
  absl::StatusOr<IngestTarget> target = config_.get_or_create(req.tenant);
  if (!target.ok()) {
    if (target.status().code() == absl::StatusCode::kInvalidArgument) {
      return http::WriteTextError(req, res, 400, Sv(target.status().message()));
    }
    http::WriteTextError(req, res, 503,
                         Cat("tenant storage unavailable: ", Sv(target.status().message())));
    res.SetHeader("Retry-After", std::string(kRetryAfterSeconds));
    return;
  }
  std::unique_ptr<storage::Appender> app = target->db->NewAppender();
  ingest::IngestReport report;
  absl::Status st =
      ingest::remote_write::IngestSnappy(req.body, config_.max_decoded_bytes, *app, report,
                                          target->rw_refs);
  if (!st.ok()) {
    app->Rollback();
    int status = st.code() == absl::StatusCode::kResourceExhausted ? 413
                 : st.code() == absl::StatusCode::kInvalidArgument ? 400
                                                                   : 503;
    std::string msg = std::string(Sv(st.message()));
    http::WriteTextError(req, res, status, msg);
    if (status == 503) res.SetHeader("Retry-After", std::string(kRetryAfterSeconds));
    Remember(target->log, config_.now_ms(), "remote_write", client, status, nullptr, msg);
    return;
  }
  if (absl::Status commit = app->Commit(); !commit.ok()) {
    std::string msg = CommitFailureMessage(commit);
    http::WriteTextError(req, res, 503, msg);
    res.SetHeader("Retry-After", std::string(kRetryAfterSeconds));
    Remember(target->log, config_.now_ms(), "remote_write", client, 503, nullptr, msg);
    return;
  }
  ReportCommitDrops(*app, report);
  if (report.rejected_points() == 0) {
    res.status = 204;
    res.body.clear();
    res.content_type.clear();
  } else {
    http::WriteTextError(req, res, 400,
                         Cat(report.Summary(), " (", report.accepted_samples(),
                             " samples were stored; do not retry)"));
  }
  Remember(target->log, config_.now_ms(), "remote_write", client, res.status, &report, "");
}

void IngestApi::IngestionErrors(http::Request& req, http::Response& res) const {
  absl::StatusOr<int64_t> limit = ParseLimitParam(req.Param("limit"));
  if (!limit.ok()) return WriteApiError(res, limit.status());
  tenant::IngestionLog* log = config_.find_log ? config_.find_log(req.tenant) : nullptr;
  std::vector<tenant::IngestionError> errors;
  std::optional<tenant::LastPush> last;
  if (log != nullptr) {
    errors = log->Recent(*limit > 0 ? static_cast<size_t>(*limit) : log->capacity());
    last = log->Last();
  }
  JsonWriter w;
  w.BeginObject();
  w.StringField("tenant", req.tenant);
  w.Key("lastPush");
  if (last.has_value()) {
    w.BeginObject();
    w.StringField("time", FormatRfc3339(last->time_unix_ms));
    w.StringField("protocol", last->protocol);
    w.StringField("client", last->client);
    w.IntField("status", last->http_status);
    w.IntField("accepted", last->accepted);
    w.IntField("rejected", last->rejected);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("errors");
  w.BeginArray();
  for (const auto& e : errors) {
    w.BeginObject();
    w.StringField("time", FormatRfc3339(e.time_unix_ms));
    w.StringField("protocol", e.protocol);
    w.StringField("client", e.client);
    w.IntField("status", e.http_status);
    w.StringField("metric", e.metric);
    w.StringField("reason", e.reason);
    w.IntField("points", e.points);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::vector<std::string> infos;
  if (!last.has_value()) {
    infos.push_back(Cat(
        "no push has reached tenant \"", req.tenant,
        "\" since the server started: check that the exporter endpoint ends in /otlp/v1/metrics, "
        "that it sends X-Scope-OrgID: ",
        req.tenant, ", and that the process runs past its first export interval"));
  }
  WriteSuccess(res, w.str(), {}, infos);
}

}  // namespace xscaler::api
