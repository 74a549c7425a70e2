// Runs Prometheus-format PromQL test files (`load`, `clear`, `eval instant|range`, `expect
// fail|warn|info|no_warn|no_info|ordered` with `msg:`/`regex:`, and the older eval_fail /
// eval_warn / eval_info / eval_ordered spellings) against the xScaler engine over the real
// storage (a storage::Tsdb in a scratch directory under the system temp dir, replaced on
// `clear`), and reports each failing eval with its expression and the difference. Like
// Prometheus' own runner, a passing instant eval is re-checked as the middle step of a range
// query (t-1m..t+1m) and, when its functions allow, with every selector pinned to `@ t` and
// evaluated at other times; both must give the same values.
//
// Native histograms (`{{...}}` samples) are not supported yet: such samples are not loaded,
// and evals whose expected output contains them are reported as skipped with that reason.
// Not thread-safe per call (each call owns its storage); separate calls may run concurrently.
#pragma once

#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace xscaler::promql::promqltest {

struct FileStats {
  std::string file;
  int passed = 0;
  int failed = 0;            // not excluded
  int excluded = 0;          // failed, but listed in the exclusions file
  int skipped = 0;           // needs an unsupported feature
  int stale_exclusions = 0;  // listed in the exclusions file but passed
};

// Exclusions file: one `file:line  reason` per line (file is the base name); `#` comments.
std::set<std::string> LoadExclusions(const std::string& path);

// Runs one file. `exclusions` holds `basename:line` keys.
FileStats RunFile(const std::string& path, const std::set<std::string>& exclusions,
                  std::ostream& out);

// Runs every file, prints per-file counts and a final `N passed, M failed` line. Returns
// non-zero when an eval failed that is not excluded (or a file could not be read).
int RunPromqlTestFiles(const std::vector<std::string>& files, const std::string& exclusions_file,
                       std::ostream& out);

}  // namespace xscaler::promql::promqltest
