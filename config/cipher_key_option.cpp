#include "config/cipher_key_option.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <string>

#include "config/interpolation.hpp"

namespace projectord::config {
namespace {

constexpr std::string_view kEnvKey = "cipher_key_env";
constexpr std::string_view kFileKey = "cipher_key_file";
constexpr std::string_view kDefaultVariable = "CIPHER_KEY";

// The key text of a file, wiped once decoded: it is the key as much as the decoded bytes are.
struct WipedText {
  std::string text;
  ~WipedText() { OPENSSL_cleanse(text.data(), text.size()); }
};

}  // namespace

CipherKey load_cipher_key(Section& s, Codec codec) {
  if (s.has("codec") && s.value("codec") == nullptr) return {};  // a bad codec is reported already
  if (!is_encrypted(codec)) {
    for (const std::string_view key : {kEnvKey, kFileKey}) {
      if (s.has(key)) s.error(key, "only for codec eventsourcing_json_aes or eventsourcing_json_zlib_aes");
    }
    return {};
  }
  if (s.has(kEnvKey) && s.has(kFileKey)) {
    s.error(kFileKey, "set cipher_key_env or cipher_key_file, not both");
    return {};
  }

  if (s.has(kFileKey)) {
    if (s.value(kFileKey) == nullptr) return {};  // its bad value is reported already
    auto content = read_value_file(s.config_dir(), s.str(kFileKey));
    if (!content) {
      s.error(kFileKey, content.error());
      return {};
    }
    const WipedText text{std::move(*content)};
    auto key = CipherKey::from_base64(text.text);
    if (!key) {
      s.error(kFileKey, "the file " + key.error());
      return {};
    }
    return std::move(*key);
  }

  if (s.has(kEnvKey) && s.value(kEnvKey) == nullptr) return {};
  const std::string name = s.has(kEnvKey) ? s.str(kEnvKey) : std::string(kDefaultVariable);
  const char* text = name.empty() ? nullptr : std::getenv(name.c_str());
  if (text == nullptr || *text == '\0') {
    s.error(kEnvKey, "environment variable " + (name.empty() ? std::string("''") : name) +
                         " (the base64 AES key of the codec) is not set" +
                         (s.has(kEnvKey) ? "" : "; name another with cipher_key_env or a file with cipher_key_file"));
    return {};
  }
  auto key = CipherKey::from_base64(text);
  if (!key) {
    s.error(kEnvKey, "environment variable " + name + " " + key.error());
    return {};
  }
  return std::move(*key);
}

}  // namespace projectord::config
