#include "tests/support/celery_worker.hpp"

#include <csignal>

namespace projectord::testing {

CeleryWorker::CeleryWorker(const std::string& broker_url, const std::string& queue, const std::string& record)
    : process_({"/usr/bin/python3", "-m", "celery", "-A", "welcome", "worker", "--pool=solo", "--concurrency=1", "-Q",
                queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO"},
               {{"PYTHONPATH", PROJECTORD_SOURCE_DIR "/tests/support/celery_app"},
                {"PROJECTORD_CELERY_BROKER", broker_url},
                {"PROJECTORD_CELERY_RECORD", record}}) {}

CeleryWorker::~CeleryWorker() {
  process_.signal(SIGTERM);
  (void)process_.wait_exit(std::chrono::seconds(10));
}

}  // namespace projectord::testing
