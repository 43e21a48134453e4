#pragma once
/// The lane's writer thread: it writes a folding handler's sealed transaction (the fold's writes, the
/// checkpoint's move, the commit) while the lane reads and folds the next one. One thread for the lane's
/// life, idle between writes. Writes run one at a time and in order: `start` hands over a write only once the
/// previous one was collected with `wait`, so commits keep the order of the reads. Whatever a write throws is
/// handed back by `wait`, on the lane's thread. `start` and `wait` are the lane thread's only.
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace projectord {

class BackgroundWriter {
 public:
  BackgroundWriter();
  /// Lets a write in progress finish, then ends the thread.
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  /// Hands `write` to the thread. Precondition: !busy() (the previous write was collected).
  void start(std::function<void()> write);
  /// A write was started and not collected yet.
  bool busy() const { return busy_; }
  /// Waits for the started write to end and collects it: what it threw, or null when it succeeded (or when
  /// none was started).
  std::exception_ptr wait();

 private:
  void serve(std::stop_token stop);

  bool busy_ = false;  ///< the lane thread's own view: started and not collected
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::function<void()> pending_;  ///< handed over, not taken up by the thread yet
  bool done_ = false;              ///< the write taken up has ended
  std::exception_ptr failure_;     ///< what it threw
  std::jthread thread_;            ///< last: started once the members it uses exist, joined before they go
};

}  // namespace projectord
