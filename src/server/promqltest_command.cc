#include <iostream>

#include "promql/promqltest/promqltest.h"
#include "server/commands.h"

namespace xscaler::server {

int RunPromqlTest(const std::vector<std::string>& files, const std::string& exclusions) {
  return promql::promqltest::RunPromqlTestFiles(files, exclusions, std::cout);
}

}  // namespace xscaler::server
