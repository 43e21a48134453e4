#include "bench/support/flags.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <iostream>

#include "bench/support/process.hpp"

namespace projectord::bench {

Flags::Flags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      help_ = true;
      continue;
    }
    if (!flag.starts_with("--")) throw UsageError("unexpected argument '" + std::string(flag) + "'");
    if (i + 1 >= argc) throw UsageError(std::string(flag) + " needs a value");
    values_[std::string(flag)] = argv[++i];
  }
}

std::string Flags::required_text(std::string_view name) {
  const auto it = values_.find(name);
  if (it == values_.end()) throw UsageError(std::string(name) + " is required");
  std::string value = std::move(it->second);
  values_.erase(it);
  return value;
}

std::string Flags::choice(std::string_view name, const std::vector<std::string>& choices) {
  const auto it = values_.find(name);
  if (it == values_.end()) return choices.front();
  std::string value = std::move(it->second);
  values_.erase(it);
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return value;
  std::string allowed;
  for (const std::string& choice : choices) allowed += (allowed.empty() ? "" : ", ") + choice;
  throw UsageError(std::string(name) + " expects one of " + allowed + ", got '" + value + "'");
}

std::int64_t Flags::positive(std::string_view name, std::int64_t fallback) {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& text = it->second;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value <= 0) {
    throw UsageError(std::string(name) + " expects a positive integer, got '" + text + "'");
  }
  values_.erase(it);
  return value;
}

void Flags::finish() const {
  if (!values_.empty()) throw UsageError("unknown option '" + values_.begin()->first + "'");
}

int run_main(int argc, char** argv, std::string_view program, std::string_view usage,
             const std::function<int(Flags&)>& body) {
  try {
    start_launcher();  // first, while this process is small: see process.hpp
    Flags flags(argc, argv);
    if (flags.help()) {
      std::cout << usage;
      return 0;
    }
    return body(flags);
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << "\n\n" << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << '\n';
    return 1;
  }
}

}  // namespace projectord::bench
