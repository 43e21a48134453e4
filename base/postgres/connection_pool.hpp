#pragma once
/// The connections a daemon's lanes work on, bounded whatever the number of handlers ([database]
/// max_connections, less what the daemon keeps open for itself: the lease keeper's, the LISTENs).
///
/// A lane borrows all the connections it works on at once (its target, its source's reader) and keeps them
/// while it has work; it gives them back at an idle point once another borrower waits (`asked_for`, and the
/// `on_demand` call that ends the holders' idle waits). A borrower gets back an idle connection it had, with
/// everything it prepared and set; else a new one while the bound allows; else the idle connection to the same
/// server given back longest ago, another borrower's, reset (`RESET ALL`: its settings go; what was prepared
/// stays, named by its text, base/postgres/statement_set.hpp); else a new one in the place of the idle
/// connection given back longest ago. A place is free once the server has let the connection that had it go
/// (its backend counts against the server's limits until it has exited). A connection new or reset for its
/// borrower has a new `session` number, which tells the borrower to set its own up again.
///
/// Waiting borrowers are served in the order they came. Long loans (a lane's) leave one connection free for
/// nested ones (`borrow_nested`: a short loan taken while holding another, such as an attempt journal's
/// write), so that a nested loan never waits on the holder of a long one: no borrower can wait on itself.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/connection>
#include <stop_token>
#include <string>
#include <vector>


namespace projectord::postgres {

/// A connection as its borrower sees it.
struct Lent {
  pqxx::connection& connection;
  /// Names the connection's session state: another number for a new connection or one that was reset.
  std::uint64_t session;
};

class ConnectionPool {
  struct Entry {
    std::unique_ptr<pqxx::connection> connection;  ///< null while it is being opened
    std::unique_ptr<pqxx::connection> replaced;    ///< the idle one whose place it takes, until closed
    std::string url;
    std::string user;  ///< its last borrower
    std::uint64_t session = 0;  ///< 0 until `complete` has set it up for its borrower
  };

 public:
  /// `capacity`: connections open at most, lent or idle; at least 2 (a long loan and a nested one).
  explicit ConnectionPool(std::size_t capacity);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// Connections lent together, given back together when it ends.
  class Loan {
   public:
    Loan(Loan&& other) noexcept;
    Loan& operator=(Loan&& other) noexcept;
    ~Loan();
    Lent operator[](std::size_t i) const { return {*entries_[i].connection, entries_[i].session}; }
    /// Closes them instead of giving them back: after an error their state is unknown.
    void discard() { discard_ = true; }

   private:
    friend class ConnectionPool;
    Loan(ConnectionPool* pool, std::uint64_t id, bool nested, std::vector<Entry> entries)
        : pool_(pool), id_(id), nested_(nested), entries_(std::move(entries)) {}

    ConnectionPool* pool_;
    std::uint64_t id_;
    bool nested_;
    std::vector<Entry> entries_;
    bool discard_ = false;
  };

  /// One connection to each of `urls`, lent together to `user` once they can be (nullopt: `stop` came first).
  /// When it has to wait it calls `waiting`, then every long loan's `on_demand`, under the pool's lock (so
  /// that no loan ends meanwhile): neither may block or call the pool. Throws what connecting throws, having
  /// given back what it had.
  std::optional<Loan> borrow(const std::string& user, const std::vector<std::string>& urls, std::stop_token stop,
                             std::function<void()> on_demand = {}, const std::function<void()>& waiting = {});
  /// A short loan taken while holding a long one: it waits only for other nested loans to end.
  Loan borrow_nested(const std::string& user, const std::string& url);

  /// Whether a borrower waits.
  bool asked_for() const;
  /// A new bound (a reload): loans beyond it are not taken back, no new one is lent until under it.
  void set_capacity(std::size_t capacity);
  /// Connections open, lent or idle.
  std::size_t open_connections() const;

 private:
  bool can_lend(std::size_t count, bool nested) const;
  std::vector<Entry> take(const std::string& user, const std::vector<std::string>& urls);
  Loan complete(std::uint64_t id, bool nested, std::vector<Entry> entries);
  void give_back(Loan& loan);
  void close_all(std::vector<std::unique_ptr<pqxx::connection>> closing);

  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::size_t capacity_;
  std::size_t open_ = 0;         ///< lent, idle, being opened or being closed
  std::size_t lent_long_ = 0;    ///< connections in long loans
  std::size_t lent_nested_ = 0;  ///< connections in nested loans
  std::size_t closing_ = 0;      ///< connections being closed (`close_all`)
  std::list<Entry> idle_;        ///< the most recently given back first
  std::deque<std::uint64_t> queue_;  ///< long borrowers waiting, in the order they came
  std::map<std::uint64_t, std::function<void()>> on_demand_;  ///< of the long loans out
  std::uint64_t next_id_ = 1;
  std::uint64_t next_session_ = 1;
};

}  // namespace projectord::postgres
