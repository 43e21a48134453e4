#include "base/postgres/connection_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "base/postgres/conninfo.hpp"

namespace projectord::postgres {

namespace {

// Closes a connection and waits, a second at most, until the server has let its backend go: the server counts
// a backend against its connection limits until the backend has exited, which is after it has read the close,
// so a pool that opened a new connection at once could be seen over its bound (or refused by a role's limit).
// The server closes its end of the socket once the backend is gone: a duplicate of the socket sees that.
void close_for_good(std::unique_ptr<pqxx::connection> connection) {
  if (!connection) return;
  const int socket = connection->is_open() ? connection->sock() : -1;
  const int watched = socket >= 0 ? ::fcntl(socket, F_DUPFD_CLOEXEC, 0) : -1;
  connection.reset();
  if (watched < 0) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd readable{watched, POLLIN, 0};
    const int ready = ::poll(&readable, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char unread[512];
    const ssize_t got = ::read(watched, unread, sizeof unread);
    if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) break;  // gone (or broken: gone too)
  }
  ::close(watched);
}

// What another borrower set on a session goes (RESET ALL); what it prepared stays, named by its text
// (base/postgres/statement_set.hpp), and so do its temporary tables, named by their handler. A connection that
// cannot be reset is closed, to be opened again in its place.
void reset_or_close(std::unique_ptr<pqxx::connection>& connection) {
  try {
    pqxx::nontransaction txn(*connection);
    txn.exec0("RESET ALL");
  } catch (const pqxx::failure&) {
    close_for_good(std::move(connection));
  }
}

}  // namespace

ConnectionPool::ConnectionPool(std::size_t capacity) : capacity_(capacity) {}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Loan::Loan(Loan&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      id_(other.id_),
      nested_(other.nested_),
      entries_(std::move(other.entries_)),
      discard_(other.discard_) {}

ConnectionPool::Loan& ConnectionPool::Loan::operator=(Loan&& other) noexcept {
  if (this != &other) {
    if (pool_) pool_->give_back(*this);
    pool_ = std::exchange(other.pool_, nullptr);
    id_ = other.id_;
    nested_ = other.nested_;
    entries_ = std::move(other.entries_);
    discard_ = other.discard_;
  }
  return *this;
}

ConnectionPool::Loan::~Loan() {
  if (pool_) pool_->give_back(*this);
}

// Long loans leave one connection for nested ones. Within the bound, what is neither lent nor being closed is
// idle or not open, so there is a place for every connection lent.
bool ConnectionPool::can_lend(std::size_t count, bool nested) const {
  const bool within = lent_long_ + lent_nested_ + closing_ + count <= capacity_;
  return nested ? within : within && lent_long_ + count < capacity_;
}

std::optional<ConnectionPool::Loan> ConnectionPool::borrow(const std::string& user,
                                                           const std::vector<std::string>& urls,
                                                           std::stop_token stop, std::function<void()> on_demand,
                                                           const std::function<void()>& waiting) {
  std::unique_lock lock(mutex_);
  if (urls.size() >= capacity_) {
    throw std::invalid_argument("a loan of " + std::to_string(urls.size()) + " connections needs a pool of " +
                                std::to_string(urls.size() + 1) + " at least, not " + std::to_string(capacity_));
  }
  const std::uint64_t id = next_id_++;
  queue_.push_back(id);
  const auto my_turn = [&] { return queue_.front() == id && can_lend(urls.size(), false); };
  if (!my_turn()) {
    if (waiting) waiting();
    for (const auto& [loan, call] : on_demand_) {
      if (call) call();
    }
    if (!changed_.wait(lock, stop, my_turn)) {
      std::erase(queue_, id);
      changed_.notify_all();  // the next in line may be able to go now
      return std::nullopt;
    }
  }
  queue_.pop_front();
  std::vector<Entry> entries = take(user, urls);
  lent_long_ += urls.size();
  on_demand_.emplace(id, std::move(on_demand));
  changed_.notify_all();
  lock.unlock();
  return complete(id, false, std::move(entries));
}

ConnectionPool::Loan ConnectionPool::borrow_nested(const std::string& user, const std::string& url) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return can_lend(1, true); });
  const std::uint64_t id = next_id_++;
  std::vector<Entry> entries = take(user, {url});
  lent_nested_ += 1;
  lock.unlock();
  return complete(id, true, std::move(entries));
}

// Picks, for each url, an idle connection the user had; else room for a new one; else the idle connection to
// the url given back longest ago, another borrower's (reset by `complete`); else the place of the idle
// connection given back longest ago (closed by `complete`). Called under the lock, with room checked.
std::vector<ConnectionPool::Entry> ConnectionPool::take(const std::string& user, const std::vector<std::string>& urls) {
  std::vector<Entry> entries;
  for (const std::string& url : urls) {
    const auto own = std::ranges::find_if(idle_, [&](const Entry& e) { return e.url == url && e.user == user; });
    if (own != idle_.end()) {
      entries.push_back(std::move(*own));
      idle_.erase(own);
      continue;
    }
    if (open_ < capacity_) {
      ++open_;
      entries.push_back({nullptr, nullptr, url, user, 0});
      continue;
    }
    const auto other = std::ranges::find_if(idle_.rbegin(), idle_.rend(), [&](const Entry& e) { return e.url == url; });
    if (other != idle_.rend()) {
      entries.push_back({std::move(other->connection), nullptr, url, user, 0});
      idle_.erase(std::next(other).base());
      continue;
    }
    entries.push_back({nullptr, std::move(idle_.back().connection), url, user, 0});
    idle_.pop_back();
  }
  return entries;
}

// Outside the lock: resets the connections that were another borrower's, closes the connections replaced, then
// opens the new ones. Each gets a session number of its own but the borrower's own idle ones.
ConnectionPool::Loan ConnectionPool::complete(std::uint64_t id, bool nested, std::vector<Entry> entries) {
  Loan loan(this, id, nested, std::move(entries));
  for (Entry& entry : loan.entries_) {
    if (entry.session != 0) continue;
    if (entry.connection) reset_or_close(entry.connection);
    if (!entry.connection) {
      close_for_good(std::move(entry.replaced));
      try {
        entry.connection = std::make_unique<pqxx::connection>(with_keepalives(entry.url));
      } catch (...) {
        loan.discard();
        throw;  // the loan gives back what it holds
      }
    }
    const std::lock_guard lock(mutex_);
    entry.session = next_session_++;
  }
  return loan;
}

void ConnectionPool::give_back(Loan& loan) {
  std::vector<std::unique_ptr<pqxx::connection>> closing;
  {
    const std::lock_guard lock(mutex_);
    for (Entry& entry : loan.entries_) {
      if (loan.discard_ || !entry.connection || !entry.connection->is_open()) {
        closing.push_back(entry.connection ? std::move(entry.connection) : std::move(entry.replaced));
      } else {
        idle_.push_front(std::move(entry));
      }
    }
    (loan.nested_ ? lent_nested_ : lent_long_) -= loan.entries_.size();
    closing_ += closing.size();
    if (!loan.nested_) on_demand_.erase(loan.id_);
    loan.entries_.clear();
    changed_.notify_all();
  }
  close_all(std::move(closing));
}

// Outside the lock, `closing` counted in `closing_`: a closed connection's place is free once the server has
// let it go.
void ConnectionPool::close_all(std::vector<std::unique_ptr<pqxx::connection>> closing) {
  if (closing.empty()) return;
  for (auto& connection : closing) close_for_good(std::move(connection));
  const std::lock_guard lock(mutex_);
  open_ -= closing.size();
  closing_ -= closing.size();
  changed_.notify_all();
}

bool ConnectionPool::asked_for() const {
  const std::lock_guard lock(mutex_);
  return !queue_.empty();
}

void ConnectionPool::set_capacity(std::size_t capacity) {
  std::vector<std::unique_ptr<pqxx::connection>> closing;
  {
    const std::lock_guard lock(mutex_);
    capacity_ = capacity;
    while (open_ - closing_ > capacity_ && !idle_.empty()) {
      closing.push_back(std::move(idle_.back().connection));
      idle_.pop_back();
      ++closing_;
    }
    changed_.notify_all();
  }
  close_all(std::move(closing));
}

std::size_t ConnectionPool::open_connections() const {
  const std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace projectord::postgres
