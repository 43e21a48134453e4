#pragma once
/// The AES key of a source whose codec decrypts (pyeventsourcing's AESCipher, CIPHER_KEY): 16, 24 or 32 bytes,
/// given as base64 in the environment or a file, never in the config's text.
///
/// Contract: the bytes are reachable only through `bytes()`, for the decrypting codec; nothing prints them and
/// no error quotes them or the base64 they came from. Every copy wipes its bytes (OPENSSL_cleanse) when it goes
/// away. An empty key (the default) is the key of a source whose codec does not decrypt.
#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace projectord::config {

class CipherKey {
 public:
  CipherKey() = default;
  CipherKey(const CipherKey& other);
  CipherKey& operator=(const CipherKey& other);
  ~CipherKey();

  /// The key `text` is the base64 of; the error says why it is not one (never what it is).
  static Result<CipherKey> from_base64(std::string_view text);

  std::span<const unsigned char> bytes() const { return {bytes_.data(), size_}; }
  bool empty() const { return size_ == 0; }

  /// Whether both are the same key: a reload that changes it restarts the source's handlers.
  bool operator==(const CipherKey& other) const;

 private:
  std::array<unsigned char, 32> bytes_{};
  std::size_t size_ = 0;
};

}  // namespace projectord::config
