#pragma once
/// Encrypts a payload as pyeventsourcing's AESCipher does (CIPHER_TOPIC=eventsourcing.cipher:AESCipher): AES-GCM
/// under a 16, 24 or 32-byte key with a fresh random 12-byte nonce, stored as nonce(12) | tag(16) | ciphertext.
/// What the tests write where an application with CIPHER_KEY would, at run time.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace projectord::testing {

/// `plaintext` (the transcoder's bytes, zlib-compressed first if the application compresses) under `key` (raw).
inline std::string aescipher_encrypt(std::string_view key, std::string_view plaintext) {
  const EVP_CIPHER* cipher = key.size() == 16   ? EVP_aes_128_gcm()
                             : key.size() == 24 ? EVP_aes_192_gcm()
                             : key.size() == 32 ? EVP_aes_256_gcm()
                                                : nullptr;
  if (cipher == nullptr) throw std::invalid_argument("an AES key is 16, 24 or 32 bytes");
  std::array<unsigned char, 12> nonce{};
  std::array<unsigned char, 16> tag{};
  std::string ciphertext(plaintext.size(), '\0');
  const std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> context(EVP_CIPHER_CTX_new(),
                                                                                &EVP_CIPHER_CTX_free);
  int written = 0;
  int last = 0;
  if (context == nullptr || RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1 ||
      EVP_EncryptInit_ex(context.get(), cipher, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                         nonce.data()) != 1 ||
      EVP_EncryptUpdate(context.get(), reinterpret_cast<unsigned char*>(ciphertext.data()), &written,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context.get(), reinterpret_cast<unsigned char*>(ciphertext.data()) + written, &last) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag.size()), tag.data()) != 1) {
    throw std::runtime_error("AES-GCM encryption failed");
  }
  std::string stored(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  stored.append(reinterpret_cast<const char*>(tag.data()), tag.size());
  return stored + ciphertext;
}

/// `bytes` as base64, the form CIPHER_KEY holds a key in.
inline std::string base64(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(written));
  return text;
}

}  // namespace projectord::testing
