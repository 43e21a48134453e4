#include "daemon/supervisor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <set>

#include "base/printable.hpp"
#include "checkpoints/leases.hpp"
#include "checkpoints/rebuilds.hpp"
#include "config/notify_route.hpp"
#include "daemon/admin_dispatch.hpp"
#include "daemon/config_diff.hpp"
#include "daemon/partition_lanes.hpp"
#include "handlers/registry.hpp"
#include "sources/postgres/table_source.hpp"
#include "sources/redis/group_source.hpp"
#include "sources/redis/range_source.hpp"

namespace projectord {

namespace net = boost::asio;

namespace {

// A lane is told how long "behind and getting further behind" must last before it is called slow.
Clock::duration progress_window(const config::Config& config) {
  return std::max<Clock::duration>(config.daemon.stuck_after / 2, std::chrono::seconds(1));
}

LeaseTiming lease_timing(const config::Config& config) {
  return {config.daemon.lease_length, config.daemon.lease_renew_interval};
}

// `[daemon] handlers` pins the process to some of the file's handlers: the others are not this process's.
config::Config pinned(const config::Config& config) {
  if (config.daemon.handlers.empty()) return config;
  config::Config runs = config;
  std::erase_if(runs.handlers, [&](const auto& handler) {
    return std::find(config.daemon.handlers.begin(), config.daemon.handlers.end(), handler.first) ==
           config.daemon.handlers.end();
  });
  return runs;
}

bool starts_lane(HandlerChange change) {
  return change == HandlerChange::start || change == HandlerChange::restart || change == HandlerChange::replace_pending;
}

}  // namespace

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
  LaneRoster lanes;
  std::map<std::string, std::unique_ptr<RebuildRun>> rebuilds;
  {
    std::lock_guard lock(mutex_);
    std::swap(lanes, lanes_);
    rebuilds.swap(rebuilds_);
  }
  for (auto& [name, wake] : wakes_) wake.notify();
  // Destroying each run joins its thread; a lane's last post to io is then never run.
}

Result<void> Supervisor::apply(const config::Config& file) {
  const config::Config config = partition_lanes(pinned(file));
  std::set<std::string> waiting;
  for (const auto& [name, pending] : pending_) waiting.insert(name);
  const ConfigDiff diff = diff_config(started_ ? &config_ : nullptr, config, waiting);

  // Build every new or changed projection first: a reload that cannot build one changes nothing.
  std::vector<Pending> to_start;
  for (const auto& [name, change] : diff.handlers) {
    if (!starts_lane(change)) continue;
    const config::Handler& handler = config.handlers.at(name);
    auto projection = handlers::make_projection(handler);
    if (!projection) return fail(projection.error());
    to_start.push_back({handler, std::move(*projection)});
  }

  // What the process itself is bound to stays as it started.
  for (const std::string& key : diff.kept_running_values) {
    spdlog::warn("event=reload_needs_restart key={} action=kept_running_value", key);
  }
  {
    std::lock_guard lock(mutex_);
    config_ = started_ ? effective_config(config_, config) : config;
    started_ = true;
    if (diff.endpoint_settings_changed) settings_ = endpoint_settings(config_);
    for (const auto& [name, change] : diff.handlers) {
      if (change == HandlerChange::restart) retire(name, "changed");
      if (change == HandlerChange::stop) retire(name, "removed");
      if (change == HandlerChange::replace_pending || change == HandlerChange::drop_pending) {
        // Its old lane is retiring already; the replacement waiting for it is the one that changes.
        spdlog::info("handler={} event=replacement_{} reason={}", name,
                     change == HandlerChange::replace_pending ? "replaced" : "dropped",
                     change == HandlerChange::replace_pending ? "changed" : "removed");
        stop_rebuild_for_reload(name);
      }
    }
  }
  for (const auto& [name, change] : diff.handlers) {
    if (change == HandlerChange::drop_pending) pending_.erase(name);
  }
  if (!leases_) {
    leases_ = std::make_unique<LeaseKeeper>(config_.database_url, checkpoints::this_process(), lease_timing(config_));
  }
  // What the daemon keeps open for itself (the listeners, reconciled below) comes off the lanes' share.
  // A reload may listen to more sources than the running bound (max_connections takes a restart) has room for:
  // the lanes then still get the least they work with.
  const std::size_t kept = config::kept_connections(config_);
  const std::size_t lanes_share = std::max<std::size_t>(config_.max_connections > kept ? config_.max_connections - kept : 0, 3);
  if (!pool_) {
    pool_ = std::make_unique<postgres::ConnectionPool>(lanes_share);
  } else {
    pool_->set_capacity(lanes_share);
  }
  std::vector<std::string> runs;
  for (const auto& [name, handler] : config_.handlers) runs.push_back(name);
  leases_->run_handlers(std::move(runs));
  for (auto& [name, wake] : wakes_) wake.notify();  // retiring lanes leave their waits
  reconcile_listeners();
  for (Pending& pending : to_start) {
    const std::string name = pending.handler.name;
    bool old_still_running = false;
    {
      std::lock_guard lock(mutex_);
      old_still_running = lanes_.retiring(name);
    }
    if (old_still_running) {
      pending_[name] = std::make_unique<Pending>(std::move(pending));
    } else {
      pending_.erase(name);
      start(std::move(pending));
    }
  }
  check_idle();
  return {};
}

void Supervisor::retire(const std::string& name, std::string_view why) {
  spdlog::info("handler={} event=retiring reason={}", name, why);
  lanes_.retire(name);
  stop_rebuild_for_reload(name);
}

void Supervisor::stop_rebuild_for_reload(const std::string& name) {
  if (const auto rebuild = rebuilds_.find(name); rebuild != rebuilds_.end()) {
    // Its shadow was built with the old settings: a new rebuild request starts over.
    spdlog::warn("handler={} event=rebuild_stopped reason=reload", name);
    rebuild->second->run().thread.request_stop();
  }
}

std::unique_ptr<Source> Supervisor::make_source(const config::Handler& handler, bool rebuild) {
  if (const auto redis = config_.redis_sources.find(handler.source); redis != config_.redis_sources.end()) {
    if (rebuild) return std::make_unique<RedisRangeSource>(redis->second);
    return std::make_unique<RedisGroupSource>(redis->second, handler.name, clock_);
  }
  const config::PostgresSource& source = config_.postgres_sources.at(handler.source);
  return std::make_unique<PostgresTableSource>(source, wakes_[handler.source], clock_, config_.pooling,
                                               handler.partition, handler.partition ? nullptr : shared_reads(source));
}

// The cycles the lanes of `source` share, or none when it shares none; lanes made before a reload that changed
// the source keep the ones they had.
std::shared_ptr<sources::SharedReads> Supervisor::shared_reads(const config::PostgresSource& source) {
  if (!source.share_reads) return nullptr;
  auto& [settings, reads] = shared_reads_[source.name];
  if (reads == nullptr || settings != source) {
    settings = source;
    reads = std::make_shared<sources::SharedReads>(clock_);
  }
  return reads;
}

std::unique_ptr<LaneRun> Supervisor::launch(const config::Handler& handler,
                                            std::unique_ptr<handlers::ProjectionHandler> projection,
                                            LaneOptions options) {
  auto run = std::make_unique<LaneRun>();
  run->id = next_id_++;
  run->handler = handler;
  options.pool = pool_.get();
  run->lane = std::make_unique<Lane>(handler, make_source(handler, options.rebuild.has_value()), config_.database_url,
                                     std::move(projection), clock_, *leases_, std::move(options));
  run->thread = std::jthread([this, id = run->id, lane = run->lane.get()](std::stop_token stop) {
    lane->run(stop);
    net::post(io_, [this, id] { finished(id); });
  });
  return run;
}

void Supervisor::start(Pending pending) {
  const std::string name = pending.handler.name;
  LaneOptions options{.exit_when_caught_up = exit_when_caught_up_,
                      .synchronous_commit = config_.synchronous_commit,
                      .pooling = config_.pooling,
                      .progress_window = progress_window(config_),
                      .on_checkpoint = [&waiters = waiters_, name,
                                        partition = pending.handler.partition](Position position) {
                        waiters.advanced(name, position);
                        if (partition) {
                          waiters.partition_advanced(partition->handler, partition->index, partition->count, position);
                        }
                      }};
  auto run = launch(pending.handler, std::move(pending.projection), std::move(options));
  spdlog::info("handler={} source={} event=started", name, pending.handler.source);
  std::lock_guard lock(mutex_);
  lanes_.add(std::move(run));
}

namespace {

// The handler a rebuild request names, as a rebuild sees it: the configured handler, or a partitioned handler's
// whole (its first lane's settings under the handler's name), which is rebuilt with all its partitions.
config::Handler rebuilt_handler(const config::Config& config, const std::string& name,
                                const std::vector<std::string>& lanes) {
  config::Handler handler = config.handlers.at(lanes.front());
  if (handler.partition && handler.partition->handler == name) {
    handler.name = name;
    handler.partition.reset();
  }
  return handler;
}

}  // namespace

void Supervisor::start_rebuild(const std::string& name, const std::string& requested_by, bool resume,
                               std::optional<std::int64_t> max_rate, std::int64_t resumed_partitions) {
  if (stopping_) return;
  const std::vector<std::string> lanes = lanes_named(config_, name);
  if (lanes.empty()) {
    spdlog::warn("handler={} event=rebuild_ignored reason={}", name, log_value("no such handler in " + config_.file));
    return;
  }
  const config::Handler handler = rebuilt_handler(config_, name, lanes);
  if (const auto refused = rebuild::refusal(handler)) {
    spdlog::error("handler={} event=rebuild_refused error={}", name, log_value(*refused));
    return;
  }
  if (any_rebuilding(lanes)) {
    spdlog::info("handler={} event=rebuild_ignored requested_by={} reason=\"one is running\"", name,
                 log_value(requested_by));
    return;
  }
  std::vector<std::unique_ptr<handlers::ProjectionHandler>> projections;
  for (const std::string& lane : lanes) {
    auto projection = handlers::make_projection(config_.handlers.at(lane));
    if (!projection) {
      spdlog::error("handler={} event=rebuild_refused error={}", name, log_value(projection.error()));
      return;
    }
    projections.push_back(std::move(*projection));
  }
  const auto partitions = static_cast<std::int64_t>(lanes.size());
  if (resume && resumed_partitions != partitions) {
    // Its shadow checkpoints are positions of other partitions than the configured ones: it starts over.
    spdlog::warn("handler={} event=rebuild_restarted reason=\"partition count changed\" from={} to={}", name,
                 resumed_partitions, partitions);
    resume = false;
  }
  const std::int64_t rate = max_rate.value_or(handler.rebuild_max_rate);
  // Shared by the lanes' runs, which end one by one; the last one's run lets it go.
  const auto cohort = std::make_shared<RebuildCohort>(partitions);
  for (std::int64_t index = 0; index < partitions; ++index) {
    const std::string& lane = lanes[static_cast<std::size_t>(index)];
    auto rebuild = std::make_unique<RebuildRun>(requested_by, rate, clock_.now(), cohort, index);
    LaneOptions options{
        .exit_when_caught_up = false,
        .synchronous_commit = config_.synchronous_commit,
        .pooling = config_.pooling,
        .progress_window = progress_window(config_),
        .rebuild = LaneOptions::Rebuild{
            !resume, requested_by, rate,
            rebuild->swap_gate([this, lane] { net::post(io_, [this, lane] { stop_live_for_swap(lane); }); }),
            cohort.get()}};
    rebuild->set_lane(launch(config_.handlers.at(lane), std::move(projections[static_cast<std::size_t>(index)]),
                             std::move(options)));
    std::lock_guard lock(mutex_);
    failed_rebuilds_.erase(lane);
    rebuilds_[lane] = std::move(rebuild);
  }
  spdlog::info("handler={} event=rebuild_{} requested_by={} max_rate={} partitions={}", name,
               resume ? "resumed" : "requested", log_value(requested_by), rate, partitions);
}

void Supervisor::stop_live_for_swap(const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    const auto rebuild = rebuilds_.find(name);
    if (rebuild == rebuilds_.end()) return;
    if (LaneRun* live = lanes_.find(name); live != nullptr && !live->finished) {
      live->stopped_for_swap = true;
      live->thread.request_stop();
    } else {
      rebuild->second->live_stopped();
    }
  }
  spdlog::info("handler={} event=rebuild_caught_up action=stopping_live_lane", name);
  for (auto& [source, wake] : wakes_) wake.notify();
}

void Supervisor::finished(std::uint64_t id) {
  std::unique_ptr<LaneRun> retired;
  std::unique_ptr<RebuildRun> rebuilt;
  {
    std::lock_guard lock(mutex_);
    if (LaneRun* live = lanes_.finished(id, retired); live != nullptr) {
      const auto rebuild = rebuilds_.find(live->handler.name);
      if (live->stopped_for_swap && rebuild != rebuilds_.end()) {
        rebuild->second->live_stopped();
        wakes_[live->handler.source].notify();
      }
    }
    for (auto it = rebuilds_.begin(); it != rebuilds_.end(); ++it) {
      if (it->second->run().id != id) continue;
      rebuilt = std::move(it->second);
      rebuilds_.erase(it);
      break;
    }
  }
  if (rebuilt) rebuild_ended(std::move(rebuilt));
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

void Supervisor::rebuild_ended(std::unique_ptr<RebuildRun> rebuild) {
  const std::string name = rebuild->run().handler.name;
  const bool swapped = rebuild->run().lane->status().swapped;
  {
    std::lock_guard lock(mutex_);
    // It gave up: /status says why until the next one.
    if (auto failure = rebuild->failure()) failed_rebuilds_.insert_or_assign(name, std::move(*failure));
    // Without it the other partitions' lanes would wait for a swap that cannot come.
    if (!swapped) {
      for (auto& [lane, other] : rebuilds_) {
        if (other->cohort() == rebuild->cohort()) other->run().thread.request_stop();
      }
    }
  }
  rebuild.reset();  // joins a thread that has returned
  // The live lane stopped for the swap (or a swap that failed) starts again, from the swapped checkpoint; so
  // does one that had ended, refusing checkpoints of another partition count, once a swap replaced them.
  bool restart = false;
  {
    std::lock_guard lock(mutex_);
    const LaneRun* live = lanes_.find(name);
    restart = live != nullptr && live->finished && (live->stopped_for_swap || swapped);
  }
  spdlog::info("handler={} event=rebuild_ended swapped={}", name, swapped);
  if (restart && !stopping_ && config_.handlers.contains(name)) {
    const config::Handler& handler = config_.handlers.at(name);
    if (auto projection = handlers::make_projection(handler)) start({handler, std::move(*projection)});
  }
}

void Supervisor::reconcile_listeners() {
  std::map<std::string, const config::PostgresSource*> wanted;
  for (const std::string& name : config::listened_sources(config_)) wanted[name] = &config_.postgres_sources.at(name);
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
        io_, *config::notify_url(config_, source->url), source->notify_channel,
        [&wake = wakes_[name]](const std::optional<sources::Notification>&) { wake.notify(); });
    listener->listener->start();
    listeners_.emplace(name, std::move(listener));
  }
}

void Supervisor::stop() {
  stopping_ = true;
  pending_.clear();
  {
    std::lock_guard lock(mutex_);
    lanes_.request_stop_all();
    for (auto& [name, rebuild] : rebuilds_) rebuild->run().thread.request_stop();
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
  return lanes_.running() + rebuilds_.size();
}

bool Supervisor::any_halted() const {
  std::lock_guard lock(mutex_);
  return std::any_of(lanes_.lanes().begin(), lanes_.lanes().end(),
                     [](const auto& entry) { return entry.second->lane->status().state == LaneState::halted; });
}

namespace {

// As reconcile_listeners decides it, from the config alone: the HTTP thread may not look at the listeners.
std::string wakeup(const config::Config& config, const std::string& source) {
  const auto postgres = config.postgres_sources.find(source);
  if (postgres == config.postgres_sources.end()) return "stream";
  return config::notify_url(config, postgres->second.url) ? "notify" : "poll";
}

}  // namespace

std::vector<http::HandlerStatus> Supervisor::handlers() const {
  std::lock_guard lock(mutex_);
  std::vector<http::HandlerStatus> statuses;
  statuses.reserve(lanes_.lanes().size());
  for (const auto& [name, run] : lanes_.lanes()) {
    const bool stream = config_.redis_sources.contains(run->handler.source);
    statuses.push_back({name, run->handler.kind, run->handler.source, run->lane->status(), std::nullopt, stream,
                        wakeup(config_, run->handler.source), run->handler.partition});
    if (const auto rebuild = rebuilds_.find(name); rebuild != rebuilds_.end()) {
      statuses.back().rebuild = rebuild->second->status();
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
  std::lock_guard lock(mutex_);
  const std::vector<std::string> lanes = lanes_named(config_, request.handler);
  if (lanes.size() > 1) return admin_partitions(request, lanes);
  return admin_lane(request);
}

// A partitioned handler named whole: pause and resume reach each of its partitions' lanes; the calls about one
// event or one checkpoint name the partition.
http::AdminOutcome Supervisor::admin_partitions(const http::AdminRequest& request, const std::vector<std::string>& lanes) {
  if (request.action == http::AdminAction::rebuild) return rebuild_partitions(request, lanes);
  if (request.action != http::AdminAction::pause && request.action != http::AdminAction::resume) {
    return {http::AdminResult::not_allowed_now,
            "handler " + request.handler + " is partitioned: name one of its partitions, " + lanes.front() + " .. " +
                lanes.back(),
            std::nullopt};
  }
  http::AdminOutcome outcome{http::AdminResult::accepted, "", std::nullopt};
  for (const std::string& lane : lanes) {
    http::AdminRequest one = request;
    one.handler = lane;
    http::AdminOutcome answer = admin_lane(one);
    if (answer.result != http::AdminResult::accepted) return answer;
    outcome.message += (outcome.message.empty() ? "" : "; ") + answer.message;
  }
  return outcome;
}

// A partitioned handler is rebuilt whole: its partitions share the read model's tables.
http::AdminOutcome Supervisor::rebuild_partitions(const http::AdminRequest& request,
                                                  const std::vector<std::string>& lanes) {
  if (any_rebuilding(lanes)) {
    return {http::AdminResult::not_allowed_now, "handler " + request.handler + " is being rebuilt already",
            std::nullopt};
  }
  if (const auto refused = rebuild::refusal(rebuilt_handler(config_, request.handler, lanes))) {
    return {http::AdminResult::not_allowed_now, *refused, std::nullopt};
  }
  net::post(io_, [this, request] { start_rebuild(request.handler, request.origin, false, request.max_rate); });
  return {http::AdminResult::accepted,
          "rebuilding its " + std::to_string(lanes.size()) +
              " partitions into one shadow copy; the live read model serves until the swap",
          std::nullopt};
}

bool Supervisor::any_rebuilding(const std::vector<std::string>& lanes) const {
  return std::any_of(lanes.begin(), lanes.end(), [&](const std::string& lane) { return rebuilds_.contains(lane); });
}

http::AdminOutcome Supervisor::admin_lane(const http::AdminRequest& request) {
  LaneRun* live = lanes_.find(request.handler);
  if (live == nullptr) {
    return {http::AdminResult::no_such_handler, "no such handler: " + printable(request.handler, 64), std::nullopt};
  }
  const auto rebuild = rebuilds_.find(request.handler);
  Lane* rebuild_lane = rebuild == rebuilds_.end() ? nullptr : rebuild->second->run().lane.get();
  return dispatch_admin(request, *live, rebuild_lane, [this, request] {
    net::post(io_, [this, request] { start_rebuild(request.handler, request.origin, false, request.max_rate); });
  });
}

}  // namespace projectord
