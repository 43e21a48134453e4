#include "daemon/supervisor.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "sources/postgres/table_source.hpp"
#include "sources/redis/group_source.hpp"
#include "sources/redis/range_source.hpp"
#include "checkpoints/rebuilds.hpp"
#include "handlers/registry.hpp"

namespace projectord {

namespace net = boost::asio;

namespace {

// Line numbers move whenever the file is edited; they are not settings.
config::Handler without_lines(config::Handler handler) {
  handler.line = 0;
  for (config::SqlStatement& statement : handler.statements) statement.line = 0;
  return handler;
}

bool same_settings(const config::Handler& a, const config::Handler& b) { return without_lines(a) == without_lines(b); }

template <class Sources>
bool same_entry(const Sources& a, const Sources& b, const std::string& name) {
  const auto in_a = a.find(name);
  const auto in_b = b.find(name);
  if (in_a == a.end() || in_b == b.end()) return in_a == a.end() && in_b == b.end();
  return in_a->second == in_b->second;
}

bool same_source(const config::Config& a, const config::Config& b, const std::string& name) {
  return same_entry(a.postgres_sources, b.postgres_sources, name) && same_entry(a.redis_sources, b.redis_sources, name);
}

// A lane's view of the store changes only with its own handler's or its source's settings.
bool same_lane(const config::Config& old_config, const config::Config& new_config, const std::string& name) {
  const config::Handler& old_handler = old_config.handlers.at(name);
  const config::Handler& new_handler = new_config.handlers.at(name);
  return same_settings(old_handler, new_handler) && same_source(old_config, new_config, new_handler.source);
}

// A lane is told how long "behind and getting further behind" must last before it is called slow.
Clock::duration progress_window(const config::Config& config) {
  return std::max<Clock::duration>(config.daemon.stuck_after / 2, std::chrono::seconds(1));
}

}  // namespace

struct Supervisor::Running {
  std::uint64_t id;
  config::Handler handler;
  std::unique_ptr<Lane> lane;
  std::jthread thread;  // declared after the lane: joined before the lane is destroyed
  bool finished = false;
  bool stopped_for_swap = false;  ///< a rebuild asked it to stop; a fresh lane replaces it after the swap
};

// A rebuild lane and what it shares with it: it asks (from its thread) for the live lane to stop and learns
// when it has.
struct Supervisor::Rebuild {
  struct Gate {
    std::atomic<bool> asked{false};
    std::atomic<bool> live_stopped{false};
  };
  std::unique_ptr<Running> running;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  std::string requested_by;
  std::int64_t max_rate = 0;
  Clock::time_point started;
};

struct Supervisor::Listener {
  config::PostgresSource source;
  std::unique_ptr<sources::NotifyListener> listener;
};

struct Supervisor::Pending {
  config::Handler handler;
  std::unique_ptr<handlers::ProjectionHandler> projection;
};

Supervisor::Supervisor(net::io_context& io, const Clock& clock, CheckpointWaiters& waiters, bool exit_when_caught_up,
                       std::function<void()> on_idle)
    : io_(io), clock_(clock), waiters_(waiters), exit_when_caught_up_(exit_when_caught_up), on_idle_(std::move(on_idle)) {}

Supervisor::~Supervisor() {
  for (auto& [name, listener] : listeners_) listener->listener->stop();
  std::map<std::string, std::unique_ptr<Running>> lanes;
  std::vector<std::unique_ptr<Running>> retiring;
  std::map<std::string, std::unique_ptr<Rebuild>> rebuilds;
  {
    std::lock_guard lock(mutex_);
    lanes.swap(lanes_);
    retiring.swap(retiring_);
    rebuilds.swap(rebuilds_);
  }
  for (auto& [name, wake] : wakes_) wake.notify();
  // Destroying each Running joins its thread; a lane's last post to io is then never run.
}

Result<void> Supervisor::apply(const config::Config& config) {
  // Build every new or changed projection first: a reload that cannot build one changes nothing.
  std::vector<Pending> to_start;
  std::vector<std::string> to_retire;
  for (const auto& [name, handler] : config.handlers) {
    const bool unchanged = started_ && config_.handlers.contains(name) && same_lane(config_, config, name);
    if (unchanged) continue;
    auto projection = handlers::make_projection(handler);
    if (!projection) return fail(projection.error());
    to_start.push_back({handler, std::move(*projection)});
    if (started_ && config_.handlers.contains(name)) to_retire.push_back(name);
  }
  if (started_) {
    for (const auto& [name, handler] : config_.handlers) {
      if (!config.handlers.contains(name)) to_retire.push_back(name);
    }
  }

  if (started_) {
    // What the process itself is bound to stays as it started.
    const auto keep = [](const char* key, auto& running, const auto& wanted) {
      if (running == wanted) return;
      spdlog::warn("event=reload_needs_restart key={} action=kept_running_value", key);
    };
    keep("database.url", config_.database_url, config.database_url);
    keep("database.synchronous_commit", config_.synchronous_commit, config.synchronous_commit);
    keep("http.listen", config_.http.listen, config.http.listen);
    const std::string database_url = config_.database_url;
    const std::string synchronous_commit = config_.synchronous_commit;
    const std::string listen = config_.http.listen;
    config_ = config;
    config_.database_url = database_url;
    config_.synchronous_commit = synchronous_commit;
    config_.http.listen = listen;
  } else {
    config_ = config;
  }
  started_ = true;
  {
    std::lock_guard lock(mutex_);
    settings_ = {config_.http.admin_token, {config_.daemon.stuck_after, config_.http.ready_max_lag}};
    for (const std::string& name : to_retire) {
      auto found = lanes_.find(name);
      spdlog::info("handler={} event=retiring reason={}", name,
                   config_.handlers.contains(name) ? "changed" : "removed");
      found->second->thread.request_stop();
      if (const auto rebuild = rebuilds_.find(name); rebuild != rebuilds_.end()) {
        // Its shadow was built with the old settings: a new rebuild request starts over.
        spdlog::warn("handler={} event=rebuild_stopped reason=reload", name);
        rebuild->second->running->thread.request_stop();
      }
      // A lane that already ended (a one-shot run) has nothing to wait for.
      if (!found->second->finished) retiring_.push_back(std::move(found->second));
      lanes_.erase(found);
    }
  }
  for (auto& [name, wake] : wakes_) wake.notify();  // retiring lanes leave their waits
  reconcile_listeners();
  for (Pending& pending : to_start) {
    const std::string name = pending.handler.name;
    const bool old_still_running = std::any_of(retiring_.begin(), retiring_.end(), [&](const auto& running) {
      return running->handler.name == name && !running->finished;
    });
    if (old_still_running) {
      pending_[name] = std::make_unique<Pending>(std::move(pending));
    } else {
      start(std::move(pending));
    }
  }
  check_idle();
  return {};
}

std::unique_ptr<Source> Supervisor::make_source(const config::Handler& handler, bool rebuild) {
  if (const auto redis = config_.redis_sources.find(handler.source); redis != config_.redis_sources.end()) {
    if (rebuild) return std::make_unique<RedisRangeSource>(redis->second);
    return std::make_unique<RedisGroupSource>(redis->second, handler.name, clock_);
  }
  return std::make_unique<PostgresTableSource>(config_.postgres_sources.at(handler.source), wakes_[handler.source], clock_);
}

std::unique_ptr<Supervisor::Running> Supervisor::launch(const config::Handler& handler,
                                                         std::unique_ptr<handlers::ProjectionHandler> projection,
                                                         LaneOptions options) {
  auto running = std::make_unique<Running>();
  running->id = next_id_++;
  running->handler = handler;
  running->lane = std::make_unique<Lane>(handler, make_source(handler, options.rebuild.has_value()),
                                         config_.database_url, std::move(projection), clock_, std::move(options));
  running->thread = std::jthread([this, id = running->id, lane = running->lane.get()](std::stop_token stop) {
    lane->run(stop);
    net::post(io_, [this, id] { finished(id); });
  });
  return running;
}

void Supervisor::start(Pending pending) {
  const std::string name = pending.handler.name;
  LaneOptions options{.exit_when_caught_up = exit_when_caught_up_,
                      .synchronous_commit = config_.synchronous_commit,
                      .progress_window = progress_window(config_),
                      .on_checkpoint = [&waiters = waiters_, name](Position position) {
                        waiters.advanced(name, position);
                      }};
  auto running = launch(pending.handler, std::move(pending.projection), std::move(options));
  spdlog::info("handler={} source={} event=started", name, pending.handler.source);
  std::lock_guard lock(mutex_);
  lanes_[name] = std::move(running);
}

void Supervisor::start_rebuild(const std::string& name, const std::string& requested_by, bool resume,
                               std::optional<std::int64_t> max_rate) {
  if (stopping_) return;
  if (rebuilds_.contains(name)) {
    spdlog::info("handler={} event=rebuild_ignored requested_by={} reason=\"one is running\"", name, requested_by);
    return;
  }
  const auto configured = config_.handlers.find(name);
  if (configured == config_.handlers.end()) {
    spdlog::warn("handler={} event=rebuild_ignored reason=\"no such handler in {}\"", name, config_.file);
    return;
  }
  const config::Handler& handler = configured->second;
  if (const auto refused = rebuild::refusal(handler)) {
    spdlog::error("handler={} event=rebuild_refused error=\"{}\"", name, *refused);
    return;
  }
  auto projection = handlers::make_projection(handler);
  if (!projection) {
    spdlog::error("handler={} event=rebuild_refused error=\"{}\"", name, projection.error());
    return;
  }
  auto entry = std::make_unique<Rebuild>();
  entry->requested_by = requested_by;
  entry->max_rate = max_rate.value_or(handler.rebuild_max_rate);
  entry->started = clock_.now();
  // Asked on the rebuild lane's thread: the first time it is at the head, ask the io thread to stop the live
  // lane; the swap may run once that lane has finished its transaction in flight.
  auto may_swap = [this, gate = entry->gate, name] {
    if (!gate->asked.exchange(true)) {
      net::post(io_, [this, name] { stop_live_for_swap(name); });
      return false;
    }
    return gate->live_stopped.load();
  };
  LaneOptions options{.exit_when_caught_up = false,
                      .synchronous_commit = config_.synchronous_commit,
                      .progress_window = progress_window(config_),
                      .rebuild = LaneOptions::Rebuild{!resume, requested_by,
                                                      entry->max_rate, std::move(may_swap)}};
  entry->running = launch(handler, std::move(*projection), std::move(options));
  spdlog::info("handler={} event=rebuild_{} requested_by={} max_rate={}", name, resume ? "resumed" : "requested",
               requested_by, entry->max_rate);
  std::lock_guard lock(mutex_);
  failed_rebuilds_.erase(name);
  rebuilds_[name] = std::move(entry);
}

void Supervisor::stop_live_for_swap(const std::string& name) {
  std::shared_ptr<Rebuild::Gate> gate;
  bool already_stopped = true;
  {
    std::lock_guard lock(mutex_);
    const auto rebuild = rebuilds_.find(name);
    if (rebuild == rebuilds_.end()) return;
    gate = rebuild->second->gate;
    if (const auto live = lanes_.find(name); live != lanes_.end() && !live->second->finished) {
      live->second->stopped_for_swap = true;
      live->second->thread.request_stop();
      already_stopped = false;
    }
  }
  spdlog::info("handler={} event=rebuild_caught_up action=stopping_live_lane", name);
  if (already_stopped) gate->live_stopped = true;
  for (auto& [source, wake] : wakes_) wake.notify();
}

void Supervisor::finished(std::uint64_t id) {
  std::unique_ptr<Running> retired;
  std::unique_ptr<Rebuild> rebuilt;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, running] : lanes_) {
      if (running->id != id) continue;
      running->finished = true;  // kept: its final status is reported at exit
      if (const auto rebuild = rebuilds_.find(name); running->stopped_for_swap && rebuild != rebuilds_.end()) {
        rebuild->second->gate->live_stopped = true;
        wakes_[running->handler.source].notify();
      }
    }
    for (auto it = rebuilds_.begin(); it != rebuilds_.end(); ++it) {
      if (it->second->running->id != id) continue;
      rebuilt = std::move(it->second);
      rebuilds_.erase(it);
      break;
    }
    const auto found =
        std::find_if(retiring_.begin(), retiring_.end(), [id](const auto& running) { return running->id == id; });
    if (found != retiring_.end()) {
      retired = std::move(*found);
      retiring_.erase(found);
    }
  }
  if (rebuilt) {
    const std::string name = rebuilt->running->handler.name;
    const LaneStatus shadow = rebuilt->running->lane->status();
    const bool swapped = shadow.swapped;
    if (!swapped && !shadow.last_error.empty() && !rebuilt->running->thread.get_stop_token().stop_requested()) {
      // It gave up (a failed swap, a stream trimmed past what it needs): /status says why until the next one.
      std::lock_guard lock(mutex_);
      failed_rebuilds_.insert_or_assign(
          name, http::RebuildStatus{"failed", rebuilt->requested_by, rebuilt->max_rate, rebuilt->started, shadow});
    }
    rebuilt.reset();  // joins a thread that has returned
    // The live lane stopped for the swap (or a swap that failed) starts again, from the swapped checkpoint.
    bool restart = false;
    {
      std::lock_guard lock(mutex_);
      const auto live = lanes_.find(name);
      restart = live != lanes_.end() && live->second->stopped_for_swap && live->second->finished;
    }
    spdlog::info("handler={} event=rebuild_ended swapped={}", name, swapped);
    if (restart && !stopping_ && config_.handlers.contains(name)) {
      const config::Handler& handler = config_.handlers.at(name);
      if (auto projection = handlers::make_projection(handler)) {
        start({handler, std::move(*projection)});
      }
    }
  }
  if (retired) {
    const std::string name = retired->handler.name;
    retired.reset();  // joins a thread that has returned
    spdlog::info("handler={} event=retired", name);
    if (auto replacement = pending_.extract(name); !replacement.empty() && !stopping_) {
      start(std::move(*replacement.mapped()));
    }
  }
  check_idle();
}

void Supervisor::reconcile_listeners() {
  std::map<std::string, const config::PostgresSource*> wanted;
  for (const auto& [name, handler] : config_.handlers) {
    // Redis streams need no listener: their lanes' reads block until entries arrive.
    const auto postgres = config_.postgres_sources.find(handler.source);
    if (postgres != config_.postgres_sources.end()) wanted[handler.source] = &postgres->second;
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    const auto keep = wanted.find(it->first);
    if (keep != wanted.end() && *keep->second == it->second->source) {
      ++it;
      continue;
    }
    it->second->listener->stop();
    it = listeners_.erase(it);
  }
  for (const auto& [name, source] : wanted) {
    if (listeners_.contains(name)) continue;
    auto listener = std::make_unique<Listener>();
    listener->source = *source;
    listener->listener = std::make_unique<sources::NotifyListener>(
        io_, source->url, source->notify_channel,
        [&wake = wakes_[name]](std::optional<std::string_view>) { wake.notify(); });
    listener->listener->start();
    listeners_.emplace(name, std::move(listener));
  }
}

void Supervisor::stop() {
  stopping_ = true;
  pending_.clear();
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, running] : lanes_) running->thread.request_stop();
    for (auto& running : retiring_) running->thread.request_stop();
    for (auto& [name, rebuild] : rebuilds_) rebuild->running->thread.request_stop();
  }
  for (auto& [name, wake] : wakes_) wake.notify();
  for (auto& [name, listener] : listeners_) listener->listener->stop();
  listeners_.clear();
  check_idle();
}

void Supervisor::check_idle() {
  if ((stopping_ || exit_when_caught_up_) && running() == 0 && pending_.empty()) {
    for (auto& [name, listener] : listeners_) listener->listener->stop();
    listeners_.clear();
    on_idle_();
  }
}

std::size_t Supervisor::running() const {
  std::lock_guard lock(mutex_);
  std::size_t count = retiring_.size() + rebuilds_.size();
  for (const auto& [name, running] : lanes_) count += running->finished ? 0 : 1;
  return count;
}

bool Supervisor::any_halted() const {
  std::lock_guard lock(mutex_);
  return std::any_of(lanes_.begin(), lanes_.end(),
                     [](const auto& entry) { return entry.second->lane->status().state == LaneState::halted; });
}

std::vector<http::HandlerStatus> Supervisor::handlers() const {
  std::lock_guard lock(mutex_);
  std::vector<http::HandlerStatus> statuses;
  statuses.reserve(lanes_.size());
  for (const auto& [name, running] : lanes_) {
    statuses.push_back({name, running->handler.kind, running->handler.source, running->lane->status(), std::nullopt,
                        config_.redis_sources.contains(running->handler.source)});
    if (const auto rebuild = rebuilds_.find(name); rebuild != rebuilds_.end()) {
      const Rebuild& r = *rebuild->second;
      statuses.back().rebuild = http::RebuildStatus{r.gate->asked ? "swapping" : "replaying", r.requested_by,
                                                    r.max_rate, r.started, r.running->lane->status()};
    } else if (const auto failed = failed_rebuilds_.find(name); failed != failed_rebuilds_.end()) {
      statuses.back().rebuild = failed->second;
    }
  }
  return statuses;
}

http::EndpointSettings Supervisor::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

http::AdminOutcome Supervisor::admin(const http::AdminRequest& request) {
  const std::string& handler = request.handler;
  std::lock_guard lock(mutex_);
  const auto found = lanes_.find(handler);
  if (found == lanes_.end()) return {404, "no such handler: " + handler, std::nullopt};
  Lane* halted_rebuild = nullptr;
  if (const auto rebuild = rebuilds_.find(handler); rebuild != rebuilds_.end()) {
    Lane& shadow = *rebuild->second->running->lane;
    if (shadow.status().state == LaneState::halted) halted_rebuild = &shadow;
  }
  // Skip and resume reach a rebuild's lane when it is the one halted (on an event the live lane never saw
  // fail) and the live lane is not.
  const bool live_halted = found->second->lane->status().state == LaneState::halted;
  Lane& lane = (request.action == http::AdminAction::skip || request.action == http::AdminAction::resume) &&
                       halted_rebuild != nullptr && !live_halted
                   ? *halted_rebuild
                   : *found->second->lane;
  const auto conflict = [](const std::string& why) { return http::AdminOutcome{409, why, std::nullopt}; };
  switch (request.action) {
    case http::AdminAction::pause: {
      const auto done = lane.pause();
      if (!done) return conflict(done.error());
      spdlog::info("handler={} event=admin action=pause origin={}", handler, request.origin);
      return {202, "pausing after the transaction in flight", std::nullopt};
    }
    case http::AdminAction::resume: {
      const auto done = lane.resume();
      if (!done) return conflict(done.error());
      spdlog::info("handler={} event=admin action=resume origin={}", handler, request.origin);
      return {202, "resuming", std::nullopt};
    }
    case http::AdminAction::rebuild: {
      if (rebuilds_.contains(handler)) return conflict("handler " + handler + " is being rebuilt already");
      if (const auto refused = rebuild::refusal(found->second->handler)) return conflict(*refused);
      net::post(io_, [this, request] { start_rebuild(request.handler, request.origin, false, request.max_rate); });
      return {202, "rebuilding into a shadow copy; the live read model serves until the swap", std::nullopt};
    }
    case http::AdminAction::retry:
    case http::AdminAction::drop: {
      const bool retry = request.action == http::AdminAction::retry;
      found->second->lane->dead_letters(retry ? Lane::DeadLetterAction::retry : Lane::DeadLetterAction::drop,
                                        request.dead_letter);
      spdlog::info("handler={} event=admin action={} dead_letter={} origin={}", handler, retry ? "retry" : "drop",
                   request.dead_letter ? std::to_string(*request.dead_letter) : "all", request.origin);
      return {202, retry ? "retrying its dead letters between transactions" : "dropping its dead letters",
              std::nullopt};
    }
    case http::AdminAction::skip: {
      const auto skipped = lane.skip();
      if (!skipped) return conflict(skipped.error());
      spdlog::warn("handler={} event=admin action=skip position={} origin={}", handler, *skipped, request.origin);
      return {202, "recording the event as a dead letter and going on", *skipped};
    }
  }
  return conflict("unknown action");
}

}  // namespace projectord
