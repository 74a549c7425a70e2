// Runs Prometheus' PromQL conformance files (all *.test in the directory given as argv[1])
// against the xScaler engine; exits non-zero when an eval fails that is not listed in the
// exclusions file (argv[2]).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "promql/promqltest/promqltest.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: promql_conformance DIR_OR_FILE... [--exclusions FILE]\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);  // one "tsdb replayed" line per `clear` is noise here
  std::vector<std::string> files;
  std::string exclusions;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--exclusions" && i + 1 < argc) {
      exclusions = argv[++i];
      continue;
    }
    std::filesystem::path p(a);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (e.path().extension() == ".test") files.push_back(e.path().string());
      }
    } else {
      files.push_back(a);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "no .test files found\n";
    return 2;
  }
  return xscaler::promql::promqltest::RunPromqlTestFiles(files, exclusions, std::cout);
}
