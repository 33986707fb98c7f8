// The reference translation unit of the compile-cost gate: ordinary standard-library code
// (a regular expression, ordered and unordered maps, a string stream), of about the cost of a
// translation unit using the manager. Its compile time is measured in the same run as the
// manager's, so the ratio between them does not depend on how busy the machine is.
#include <cstdio>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

int main(int argc, char** argv) {
  const std::regex re(R"(^/([a-z]+)/([0-9.]+)$)");
  std::map<std::string, int> by_name;
  std::unordered_map<std::string, std::vector<int>> by_version;
  for (int i = 1; i < argc; ++i) {
    std::smatch m;
    const std::string s = argv[i];
    if (std::regex_match(s, m, re)) {
      ++by_name[m[1]];
      by_version[m[2]].push_back(i);
    }
  }
  std::ostringstream os;
  for (const auto& [k, v] : by_name) os << k << '=' << v << '\n';
  std::printf("%s%zu\n", os.str().c_str(), by_version.size());
  return 0;
}
