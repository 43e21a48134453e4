#pragma once
/// A private scratch directory under the system's temp directory (config files, logs), removed with its
/// contents when the object goes away.
#include <string>

namespace projectord::bench {

class WorkDir {
 public:
  explicit WorkDir(const std::string& prefix);
  ~WorkDir();
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace projectord::bench
