#include "bench/support/store.hpp"

#include <libpq-fe.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <pqxx/nontransaction>
#include <pqxx/stream_to>
#include <pqxx/transaction>
#include <stdexcept>
#include <tuple>

namespace projectord::bench {

namespace {

// A conninfo value in single quotes, as libpq parses it.
std::string quote_conninfo_value(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

// TOML basic string.
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string with_database(const std::string& url, const std::string& database) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &error),
                                                                       &PQconninfoFree);
  if (!options) {
    const std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    throw std::runtime_error("bad connection string: " + message);
  }
  std::string conninfo;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr || std::string_view(o->keyword) == "dbname") continue;
    conninfo += std::string(o->keyword) + "=" + quote_conninfo_value(o->val) + " ";
  }
  return conninfo + "dbname=" + quote_conninfo_value(database);
}

std::string fresh_database(const std::string& server_url, const std::string& name) {
  pqxx::connection admin(server_url);
  pqxx::nontransaction txn(admin);
  txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name) + " WITH (FORCE)");
  txn.exec("CREATE DATABASE " + txn.quote_name(name));
  return with_database(server_url, name);
}

void drop_database(const std::string& server_url, const std::string& name) {
  pqxx::connection admin(server_url);
  pqxx::nontransaction txn(admin);
  txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name) + " WITH (FORCE)");
}

std::string bytea_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + 2 * bytes.size());
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  return out;
}

void create_stored_events(const std::string& url, const std::string& log_path) {
  const ExitInfo exit = run_process({PROJECTORD_DEMO_WRITER, "--url", url, "--events", "0"}, {}, log_path);
  if (exit.exit_code != 0) {
    throw std::runtime_error("projectord-demo-writer exited with " + std::to_string(exit.exit_code) + ":\n" +
                             tail_of(log_path));
  }
}

void append_events(pqxx::connection& connection, examples::UserEventGenerator& generator, std::int64_t count,
                   const StateEncoding& encode) {
  pqxx::work txn(connection);
  pqxx::stream_to copy(
      txn, "stored_events",
      std::vector<std::string>{"application_name", "originator_id", "originator_version", "topic", "state"});
  const std::string application(kApplication);
  for (std::int64_t i = 0; i < count; ++i) {
    const examples::StoredEvent event = generator.next();
    copy << std::make_tuple(application, event.originator_id, event.originator_version, event.topic,
                            bytea_hex(encode ? encode(event.state) : event.state));
  }
  copy.complete();
  txn.commit();
}

void load_events(pqxx::connection& connection, examples::UserEventGenerator& generator, std::int64_t count,
                 const StateEncoding& encode) {
  append_events(connection, generator, count, encode);
  pqxx::nontransaction txn(connection);
  txn.exec("VACUUM ANALYZE stored_events");
}

std::string server_setting(pqxx::connection& connection, const std::string& name) {
  pqxx::nontransaction txn(connection);
  return txn.exec1("SHOW " + txn.quote_name(name))[0].c_str();
}

std::int64_t query_int(pqxx::connection& connection, const std::string& sql) {
  pqxx::nontransaction txn(connection);
  return txn.exec1(sql)[0].as<std::int64_t>();
}

void checkpoint(pqxx::connection& connection) {
  pqxx::nontransaction txn(connection);
  txn.exec("CHECKPOINT");
}

void settle(pqxx::connection& connection, const std::vector<std::string>& tables) {
  {
    pqxx::nontransaction txn(connection);
    std::string names;
    for (const std::string& table : tables) names += (names.empty() ? " " : ", ") + txn.quote_name(table);
    txn.exec("VACUUM ANALYZE" + names);
  }
  checkpoint(connection);
}

std::vector<HandlerConfig> demo_handlers() {
  return {{"users", "kind = \"users\"\ntable = \"user_projection\"\n"},
          {"user_log", "kind = \"event_log\"\ntable = \"user_event_log\"\n"}};
}

Projectord::Projectord(std::string binary, std::string database_url, const std::string& work_dir,
                       const ProjectordOptions& options)
    : binary_(std::move(binary)),
      config_path_(work_dir + "/projectord.toml"),
      log_path_(work_dir + "/projectord.log"),
      env_{{"BENCH_DATABASE_URL", std::move(database_url)}} {
  env_.insert(env_.end(), options.env.begin(), options.env.end());
  std::filesystem::create_directories(work_dir);
  std::ofstream config(config_path_);
  config << "[daemon]\nlog_level = " << toml_string(options.log_level) << "\n\n"
         << "[database]\nurl = \"${BENCH_DATABASE_URL}\"\nmax_connections = " << options.max_connections << "\n\n";
  // No HTTP unless asked: another daemon on the machine may hold the default port.
  config << "[http]\nlisten = " << toml_string(options.http_listen) << "\n\n";
  if (options.source_toml.empty()) {
    config << "[sources." << kSourceName
           << "]\npreset = \"eventsourcing_django\"\napplication_name = " << toml_string(kApplication)
           << "\ncodec = \"eventsourcing_json\"\n"
           << options.extra_source_lines;
  } else {
    config << options.source_toml;
  }
  std::string names;
  for (const HandlerConfig& handler : options.handlers) {
    config << "\n[handlers." << handler.name << "]\n" << handler.toml;
    names += (names.empty() ? "'" : ", '") + handler.name + "'";  // names are TOML bare keys: no quotes inside
  }
  if (!config) throw std::runtime_error("cannot write " + config_path_);
  caught_up_sql_ = "SELECT count(*) = " + std::to_string(options.handlers.size()) +
                   " AND min(c.position) >= (" + options.head_sql + ")"
                   " FROM projectord.checkpoints c WHERE c.handler IN (" +
                   names + ")";
}

std::vector<std::string> Projectord::command(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{binary_, "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

void Projectord::migrate(const std::vector<std::string>& args) const {
  std::vector<std::string> migrate_args{"migrate"};
  migrate_args.insert(migrate_args.end(), args.begin(), args.end());
  const ExitInfo exit = run_process(command(migrate_args), env_, log_path_);
  if (exit.exit_code != 0) {
    throw std::runtime_error("projectord migrate exited with " + std::to_string(exit.exit_code) + ":\n" +
                             tail_of(log_path_));
  }
}

ExitInfo Projectord::catch_up() const {
  const ExitInfo exit = run_process(command({"run", "--exit-when-caught-up"}), env_, log_path_);
  if (exit.exit_code != 0) {
    throw std::runtime_error("projectord run --exit-when-caught-up exited with " + std::to_string(exit.exit_code) +
                             ":\n" + tail_of(log_path_));
  }
  return exit;
}

bool Projectord::caught_up(pqxx::connection& connection) const {
  pqxx::read_transaction txn(connection);
  return txn.exec1(caught_up_sql_)[0].as<bool>();
}

bool Projectord::wait_until(Child& daemon, const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                            std::string_view while_doing) const {
  // Fine enough to time a catch-up of seconds, light enough not to load the server it measures.
  constexpr auto kPollInterval = std::chrono::milliseconds(20);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (const auto exit = daemon.wait_for(kPollInterval)) {
      throw std::runtime_error("projectord exited with " + std::to_string(exit->exit_code) + " while " +
                               std::string(while_doing) + ":\n" + tail_of(log_path_));
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
  return true;
}

bool Projectord::wait_until_caught_up(Child& daemon, pqxx::connection& connection,
                                      std::chrono::milliseconds timeout) const {
  return wait_until(
      daemon, [&] { return caught_up(connection); }, timeout, "catching up");
}

void Projectord::stop(Child& daemon, Checks& checks) {
  daemon.signal(SIGTERM);
  const auto exit = daemon.wait_for(std::chrono::seconds(60));
  checks.expect(exit && exit->exit_code == 0, "projectord exits 0 on SIGTERM",
                exit ? "exit " + std::to_string(exit->exit_code) : "still running after 60 s");
}

}  // namespace projectord::bench
