#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "daemon/control_channel.hpp"
#include "handlers/registry.hpp"
#include "tests/unit/config_text.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace std::chrono_literals;
using projectord::ControlChannel;
using projectord::ControlMessage;
using projectord::Refusal;
using projectord::http::AdminAction;
using projectord::testing::error_lines;
using projectord::testing::load_config;

namespace {

// A config of `control` under a database.
projectord::config::LoadResult load_control(const std::string& control) {
  return load_config("[database]\nurl = \"postgres://localhost/app\"\n" + control);
}

const projectord::config::Control kAllowApp{.notify = true, .allowed_roles = {"app", "ops"}};

ControlMessage from(std::string_view role, std::string_view payload) { return {payload, 4242, role}; }

// A daemon that accepts every request and remembers it.
class RecordingDaemon final : public projectord::http::DaemonView {
 public:
  std::vector<projectord::http::AdminRequest> requests;

  std::vector<projectord::http::HandlerStatus> handlers() const override { return {}; }
  projectord::http::EndpointSettings settings() const override { return {}; }
  projectord::http::AdminOutcome admin(const projectord::http::AdminRequest& request) override {
    requests.push_back(request);
    return {};
  }
};

// The warn lines logged while it lives, through the default logger.
class CapturedWarnings {
 public:
  CapturedWarnings() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100)) {
    auto logger = std::make_shared<spdlog::logger>("captured", sink_);
    logger->set_level(spdlog::level::warn);
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>("%v", spdlog::pattern_time_type::local, ""));
    spdlog::set_default_logger(logger);
  }
  ~CapturedWarnings() { spdlog::set_default_logger(previous_); }
  CapturedWarnings(const CapturedWarnings&) = delete;
  CapturedWarnings& operator=(const CapturedWarnings&) = delete;

  std::vector<std::string> lines() const { return sink_->last_formatted(); }

 private:
  std::shared_ptr<spdlog::logger> previous_ = spdlog::default_logger();
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

}  // namespace

TEST_CASE("the control channel reads 'ACTION HANDLER' payloads and gives clear errors for the rest") {
  using projectord::parse_control;
  const auto rebuild = parse_control("rebuild users");
  REQUIRE(rebuild.has_value());
  CHECK(rebuild->action == AdminAction::rebuild);
  CHECK(rebuild->handler == "users");
  CHECK(parse_control("skip user_log")->action == AdminAction::skip);
  CHECK_THAT(parse_control("rebuild").error(), Catch::Contains("expected 'rebuild HANDLER'"));
  CHECK_THAT(parse_control("rebuild a b").error(), Catch::Contains("expected 'rebuild HANDLER'"));
  CHECK(parse_control("drop users")->action == AdminAction::drop);
  CHECK(parse_control("retry users")->action == AdminAction::retry);
  CHECK_FALSE(parse_control("retry users")->dead_letter.has_value());  // all of them
  CHECK_THAT(parse_control("truncate users").error(), Catch::Contains("unknown action 'truncate'"));
  CHECK_FALSE(parse_control("").has_value());
}

TEST_CASE("the control channel is off by default, and on only with the roles it obeys named") {
  const auto unset = load_control("");
  REQUIRE(unset.ok());
  CHECK_FALSE(unset.config.control.notify);
  CHECK(unset.config.control.allowed_roles.empty());

  const auto on = load_control("[control]\nnotify = true\nallowed_roles = [\"django_app\", \"Ops Team\"]\n");
  INFO(error_lines(on));
  REQUIRE(on.ok());
  CHECK(on.config.control.notify);
  CHECK(on.config.control.allowed_roles == std::vector<std::string>{"django_app", "Ops Team"});

  const auto nobody = load_control("[control]\nnotify = true\n");
  REQUIRE(nobody.errors.size() == 1);
  CHECK_THAT(nobody.errors[0], Catch::StartsWith("test.toml:3: control.allowed_roles: required, and not empty"));
  const auto empty = load_control("[control]\nnotify = true\nallowed_roles = []\n");
  REQUIRE(empty.errors.size() == 1);
  CHECK_THAT(empty.errors[0], Catch::StartsWith("test.toml:5: control.allowed_roles: required, and not empty"));

  const auto bad = [](const std::string& role) {
    const auto result = load_control("[control]\nallowed_roles = [\"" + role + "\"]\n");
    return result.errors.size() == 1 ? result.errors[0] : error_lines(result);
  };
  CHECK_THAT(bad(""), Catch::Contains("control.allowed_roles: a role name must not be empty"));
  CHECK_THAT(bad(std::string(64, 'r')), Catch::Contains("at most 63 bytes"));
  CHECK_THAT(bad("app\\nevent=forged"), Catch::Contains("must not contain control characters"));
  CHECK_THAT(bad("public"), Catch::Contains("public is not a login role"));
  CHECK_THAT(load_control("[control]\nnotify = \"yes\"\n").errors.at(0), Catch::Contains("control.notify"));
}

TEST_CASE("over NOTIFY only an allowed role's pause, resume, rebuild and retry are obeyed, in its name") {
  projectord::testing::FakeClock clock;
  ControlChannel channel(clock);
  for (const std::string_view payload : {"pause users", "resume users", "retry users", "rebuild users"}) {
    const auto verdict = channel.judge(from("app", payload), kAllowApp);
    INFO(payload << ": " << verdict.reason);
    REQUIRE(verdict.request.has_value());
    CHECK(verdict.request->handler == "users");
    CHECK(verdict.request->origin == "notify:app");
  }

  const auto stranger = channel.judge(from("intern", "pause users"), kAllowApp);
  CHECK_FALSE(stranger.request.has_value());
  CHECK(stranger.refusal == Refusal::role_not_allowed);
  CHECK_THAT(stranger.reason, Catch::Contains("not in [control] allowed_roles"));
  // Roles are compared exactly, as PostgreSQL names them.
  CHECK_FALSE(channel.judge(from("App", "pause users"), kAllowApp).request.has_value());

  const auto gone = channel.judge({"pause users", 4242, std::nullopt}, kAllowApp);
  CHECK_FALSE(gone.request.has_value());
  CHECK(gone.refusal == Refusal::sender_gone);
  CHECK_THAT(gone.reason, Catch::Contains("pid 4242"));

  const auto garbled = channel.judge(from("app", "frobnicate users"), kAllowApp);
  CHECK(garbled.refusal == Refusal::unparsable);
  CHECK_THAT(garbled.reason, Catch::Contains("unknown action 'frobnicate'"));
}

TEST_CASE("skip and drop are refused over NOTIFY whatever the role, and a role not allowed is refused unread") {
  projectord::testing::FakeClock clock;
  ControlChannel channel(clock);
  for (const std::string_view payload : {"skip users", "drop users"}) {
    const auto verdict = channel.judge(from("ops", payload), kAllowApp);
    CHECK_FALSE(verdict.request.has_value());
    CHECK(verdict.refusal == Refusal::loses_information);
    CHECK_THAT(verdict.reason, Catch::Contains("not accepted over NOTIFY"));
  }
  // A role not allowed is refused as such, whatever it asks: its payload is not even read.
  CHECK(channel.judge(from("intern", "skip users"), kAllowApp).refusal == Refusal::role_not_allowed);
  CHECK(channel.judge(from("intern", "garbage"), kAllowApp).refusal == Refusal::role_not_allowed);
}

TEST_CASE("a handler is rebuilt over NOTIFY at most once a minute, other handlers and actions unaffected") {
  projectord::testing::FakeClock clock;
  ControlChannel channel(clock);
  REQUIRE(channel.judge(from("app", "rebuild users"), kAllowApp).request.has_value());
  clock.advance(59s);
  const auto again = channel.judge(from("ops", "rebuild users"), kAllowApp);
  CHECK_FALSE(again.request.has_value());
  CHECK(again.refusal == Refusal::rebuild_too_soon);
  CHECK_THAT(again.reason, Catch::Contains("handler users was rebuilt over NOTIFY less than 1 min ago"));
  CHECK(channel.judge(from("app", "rebuild user_log"), kAllowApp).request.has_value());
  CHECK(channel.judge(from("app", "pause users"), kAllowApp).request.has_value());
  clock.advance(1s);
  CHECK(channel.judge(from("app", "rebuild users"), kAllowApp).request.has_value());
  CHECK_FALSE(channel.judge(from("app", "rebuild users"), kAllowApp).request.has_value());
}

TEST_CASE("refusals are logged once per role and reason, escaped, and only obeyed requests reach the daemon") {
  projectord::testing::FakeClock clock;
  ControlChannel channel(clock);
  RecordingDaemon daemon;
  const CapturedWarnings warnings;
  for (int i = 0; i < 50; ++i) channel.act(from("intruder", "pause users"), kAllowApp, daemon);
  channel.act(from("intruder", "drop users"), kAllowApp, daemon);
  channel.act(from("evil\"role\nevent=forged", "pause users"), kAllowApp, daemon);
  channel.act(from("app", "skip users"), kAllowApp, daemon);
  channel.act(from("app", "drop users"), kAllowApp, daemon);
  channel.act(from("app", "pause users"), kAllowApp, daemon);

  REQUIRE(daemon.requests.size() == 1);
  CHECK(daemon.requests[0].action == AdminAction::pause);
  CHECK(daemon.requests[0].origin == "notify:app");
  const auto lines = warnings.lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] ==
        "event=control_refused channel=projectord_control role=\"intruder\" reason=\"the role is not in [control]"
        " allowed_roles\" payload=\"pause users\"");
  CHECK_THAT(lines[1], Catch::Contains("role=\"evil\\\"role\\nevent=forged\""));
  CHECK_THAT(lines[2], Catch::Contains("role=\"app\" reason=\"skip and drop lose information"));
}
