// A plain text table, columns padded to their widest cell (docker ps style).
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace berth::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  void print(std::FILE* out = stdout) const {
    std::vector<size_t> width(rows_.front().size(), 0);
    for (const auto& r : rows_)
      for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
    for (const auto& r : rows_) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line.append(width[i] - r[i].size() + 3, ' ');
      }
      std::fprintf(out, "%s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace berth::ctl
