#include "daemon/lane/background_writer.hpp"

#include <utility>

namespace projectord {

BackgroundWriter::BackgroundWriter() : thread_([this](std::stop_token stop) { serve(stop); }) {}

BackgroundWriter::~BackgroundWriter() {
  // A write in progress uses the caller's connection, which outlives this: it ends before the thread does.
  wait();
}

void BackgroundWriter::start(std::function<void()> write) {
  {
    std::lock_guard lock(mutex_);
    pending_ = std::move(write);
    done_ = false;
    failure_ = nullptr;
  }
  busy_ = true;
  changed_.notify_all();
}

std::exception_ptr BackgroundWriter::wait() {
  if (!busy_) return nullptr;
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return done_; });
  busy_ = false;
  return std::exchange(failure_, nullptr);
}

void BackgroundWriter::serve(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (changed_.wait(lock, stop, [this] { return static_cast<bool>(pending_); })) {
    std::function<void()> write = std::exchange(pending_, nullptr);
    lock.unlock();
    std::exception_ptr failure;
    try {
      write();
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    failure_ = failure;
    done_ = true;
    changed_.notify_all();
  }
}

}  // namespace projectord
