#include "daemon/cli/bash_completion.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include "daemon/cli/usage.hpp"

namespace projectord::cli {
namespace {

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

void add_once(std::vector<std::string>& words, const std::string& word) {
  if (std::ranges::find(words, word) == words.end()) words.push_back(word);
}

// What the usage table tells the completion: the commands in their order, each one's options, the commands
// whose first argument is a handler, and the options that take a value (whose next word is that value).
struct Grammar {
  std::vector<std::string> commands;
  std::map<std::string, std::vector<std::string>> options;
  std::vector<std::string> take_handler;
  std::vector<std::string> valued;  ///< besides --config, which the script handles on its own
};

Grammar grammar() {
  Grammar g;
  for (const CommandEntry& form : commands()) {
    const std::string name = form.name();
    add_once(g.commands, name);
    if (form.synopsis.find(" HANDLER") != std::string::npos) add_once(g.take_handler, name);
    for (const UsageEntry& option : form.options) {
      add_once(g.options[name], option.name());
      if (option.synopsis.find(' ') != std::string::npos) add_once(g.valued, option.name());
    }
  }
  for (auto& [name, words] : g.options) words.push_back("--help");
  return g;
}

}  // namespace

std::string bash_completion_script() {
  const Grammar g = grammar();
  std::string options_case;
  for (const std::string& command : g.commands) {
    const auto found = g.options.find(command);
    options_case += "    " + command + ") words=\"" + (found == g.options.end() ? "--help" : joined(found->second)) +
                    "\" ;;\n";
  }
  std::string valued_pattern;
  for (const std::string& option : g.valued) valued_pattern += (valued_pattern.empty() ? "" : "|") + option;
  std::string handler_pattern;
  for (const std::string& command : g.take_handler) handler_pattern += (handler_pattern.empty() ? "" : "|") + command;

  return R"sh(# bash completion for projectord(8), written by `projectord --bash-completion` from its usage table.

# The NAMEs of the config file's [GROUP.NAME] tables (GROUP: handlers or sources), quoted or not.
_projectord_names() {
  [[ -r $2 ]] || return 0
  sed -n "s/^[[:space:]]*\[$1\.\(\"\{0,1\}\)\([A-Za-z0-9_-]*\)\1\][[:space:]]*\(#.*\)\{0,1\}\$/\2/p" -- "$2" 2>/dev/null
}

_projectord() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  local config=)sh" + std::string(kDefaultConfig) + R"sh( command= arguments=0 words= i
  # The words before the cursor: --config's file, the command, and how many arguments the command has.
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --config) config=${COMP_WORDS[i + 1]}; ((i++)) ;;
      --config=*) config=${COMP_WORDS[i]#--config=} ;;
      )sh" + valued_pattern + R"sh() ((i++)) ;;
      -*) ;;
      *) if [[ -z $command ]]; then command=${COMP_WORDS[i]}; else ((arguments++)); fi ;;
    esac
  done
  config=${config/#\~/$HOME}
  COMPREPLY=()
  case $prev in
    --config) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    --add-position) COMPREPLY=($(compgen -W "$(_projectord_names sources "$config")" -- "$cur")); return 0 ;;
    )sh" + valued_pattern + R"sh() return 0 ;;
  esac
  if [[ -z $command ]]; then
    COMPREPLY=($(compgen -W ")sh" + joined(g.commands) + R"sh( --config --help --version" -- "$cur"))
    return 0
  fi
  if [[ $cur == -* ]]; then
    case $command in
)sh" + options_case + R"sh(    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    return 0
  fi
  case $command in
    )sh" + handler_pattern + R"sh()
      ((arguments == 0)) && COMPREPLY=($(compgen -W "$(_projectord_names handlers "$config")" -- "$cur")) ;;
    help) ((arguments == 0)) && COMPREPLY=($(compgen -W ")sh" + joined(g.commands) + R"sh(" -- "$cur")) ;;
  esac
  return 0
}

complete -F _projectord projectord
)sh";
}

}  // namespace projectord::cli
