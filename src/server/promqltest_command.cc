#include <iostream>

#include "promql/promqltest/promqltest.h"
#include "server/commands.h"
#include "spdlog/spdlog.h"

namespace xscaler::server {

int RunPromqlTest(const std::vector<std::string>& files, const std::string& exclusions) {
  // Every `clear` reopens a scratch database; its replay log lines would bury the results.
  spdlog::set_level(spdlog::level::warn);
  return promql::promqltest::RunPromqlTestFiles(files, exclusions, std::cout);
}

}  // namespace xscaler::server
