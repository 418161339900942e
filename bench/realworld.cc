// Input for the clangxx_cc1 case of bench/realworld.sh: Clang (as wasm) compiles this, so the
// work is parsing and instantiating the standard library's templates, then optimising.
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

int main() {
  std::map<std::string, int> m{{"b", 2}, {"a", 1}, {"c", 3}};
  std::vector<int> v;
  for (auto &[k, x] : m)
    v.push_back(x * 10);
  std::reverse(v.begin(), v.end());
  for (int x : v)
    std::cout << x << ' ';
  std::cout << std::endl;
  return 0;
}
