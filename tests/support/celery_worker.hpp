#pragma once
/// A real Celery 5 worker (Debian's python3-celery) running tests/support/celery_app/welcome.py against the
/// test Redis: it consumes `queue` and records every task it runs on the Redis list `record`.
///
/// Contract: the constructor starts the worker (Debian's /usr/bin/python3, not whatever python3 PATH finds
/// first) and throws when it cannot; the destructor stops it (SIGTERM, then SIGKILL after a deadline). Tasks
/// pushed before the worker consumes wait in the queue's list, so a test need not wait for it to start.
#include <string>

#include "tests/support/daemon_process.hpp"

namespace projectord::testing {

class CeleryWorker {
 public:
  CeleryWorker(const std::string& broker_url, const std::string& queue, const std::string& record);
  ~CeleryWorker();
  CeleryWorker(const CeleryWorker&) = delete;
  CeleryWorker& operator=(const CeleryWorker&) = delete;

  const DaemonProcess& process() const { return process_; }

 private:
  DaemonProcess process_;
};

}  // namespace projectord::testing
