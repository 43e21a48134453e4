#include "daemon/supervisor.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

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

// A lane's view of the store changes only with its own handler's or its source's settings.
bool same_lane(const config::Config& old_config, const config::Config& new_config, const std::string& name) {
  const config::Handler& old_handler = old_config.handlers.at(name);
  const config::Handler& new_handler = new_config.handlers.at(name);
  return same_settings(old_handler, new_handler) &&
         old_config.sources.at(old_handler.source) == new_config.sources.at(new_handler.source);
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
};

struct Supervisor::Listener {
  config::PostgresSource source;
  std::unique_ptr<sources::NotifyListener> listener;
};

struct Supervisor::Pending {
  config::Handler handler;
  config::PostgresSource source;
  std::unique_ptr<handlers::ProjectionHandler> projection;
};

Supervisor::Supervisor(net::io_context& io, const Clock& clock, CheckpointWaiters& waiters, bool exit_when_caught_up,
                       std::function<void()> on_idle)
    : io_(io), clock_(clock), waiters_(waiters), exit_when_caught_up_(exit_when_caught_up), on_idle_(std::move(on_idle)) {}

Supervisor::~Supervisor() {
  for (auto& [name, listener] : listeners_) listener->listener->stop();
  std::map<std::string, std::unique_ptr<Running>> lanes;
  std::vector<std::unique_ptr<Running>> retiring;
  {
    std::lock_guard lock(mutex_);
    lanes.swap(lanes_);
    retiring.swap(retiring_);
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
    to_start.push_back({handler, config.sources.at(handler.source), std::move(*projection)});
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

void Supervisor::start(Pending pending) {
  const std::string name = pending.handler.name;
  LaneOptions options{.exit_when_caught_up = exit_when_caught_up_,
                      .synchronous_commit = config_.synchronous_commit,
                      .progress_window = progress_window(config_),
                      .on_checkpoint = [&waiters = waiters_, name](Position position) {
                        waiters.advanced(name, position);
                      }};
  auto running = std::make_unique<Running>();
  running->id = next_id_++;
  running->handler = pending.handler;
  running->lane = std::make_unique<Lane>(pending.handler, pending.source, config_.database_url,
                                         std::move(pending.projection), wakes_[pending.source.name], clock_,
                                         std::move(options));
  running->thread = std::jthread([this, id = running->id, lane = running->lane.get()](std::stop_token stop) {
    lane->run(stop);
    net::post(io_, [this, id] { finished(id); });
  });
  spdlog::info("handler={} source={} event=started", name, pending.source.name);
  std::lock_guard lock(mutex_);
  lanes_[name] = std::move(running);
}

void Supervisor::finished(std::uint64_t id) {
  std::unique_ptr<Running> retired;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, running] : lanes_) {
      if (running->id == id) running->finished = true;  // kept: its final status is reported at exit
    }
    const auto found =
        std::find_if(retiring_.begin(), retiring_.end(), [id](const auto& running) { return running->id == id; });
    if (found != retiring_.end()) {
      retired = std::move(*found);
      retiring_.erase(found);
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
  for (const auto& [name, handler] : config_.handlers) wanted[handler.source] = &config_.sources.at(handler.source);
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
    listener->listener = std::make_unique<sources::NotifyListener>(io_, source->url, source->notify_channel, wakes_[name]);
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
  std::size_t count = retiring_.size();
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
    statuses.push_back({name, running->handler.kind, running->handler.source, running->lane->status()});
  }
  return statuses;
}

http::EndpointSettings Supervisor::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

http::AdminOutcome Supervisor::admin(http::AdminAction action, const std::string& handler) {
  std::lock_guard lock(mutex_);
  const auto found = lanes_.find(handler);
  if (found == lanes_.end()) return {404, "no such handler: " + handler, std::nullopt};
  Lane& lane = *found->second->lane;
  const auto conflict = [](const std::string& why) { return http::AdminOutcome{409, why, std::nullopt}; };
  switch (action) {
    case http::AdminAction::pause: {
      const auto done = lane.pause();
      if (!done) return conflict(done.error());
      spdlog::info("handler={} event=admin action=pause", handler);
      return {202, "pausing after the transaction in flight", std::nullopt};
    }
    case http::AdminAction::resume: {
      const auto done = lane.resume();
      if (!done) return conflict(done.error());
      spdlog::info("handler={} event=admin action=resume", handler);
      return {202, "resuming", std::nullopt};
    }
    case http::AdminAction::skip: {
      const auto skipped = lane.skip();
      if (!skipped) return conflict(skipped.error());
      spdlog::warn("handler={} event=admin action=skip position={}", handler, *skipped);
      return {202, "recording the event as a dead letter and going on", *skipped};
    }
  }
  return conflict("unknown action");
}

}  // namespace projectord
