#include "config/cipher_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <string>

namespace projectord::config {
namespace {

// A 32-byte key is 44 base64 characters; this leaves room for line breaks and spaces around them.
constexpr std::size_t kMaxBase64Length = 128;

// Wipes the bytes it guards when it goes away, on every path out of the function that filled them.
template <std::size_t N>
struct WipedBuffer {
  std::array<unsigned char, N> bytes{};
  ~WipedBuffer() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

CipherKey::CipherKey(const CipherKey& other) : bytes_(other.bytes_), size_(other.size_) {}

CipherKey& CipherKey::operator=(const CipherKey& other) {
  bytes_ = other.bytes_;
  size_ = other.size_;
  return *this;
}

CipherKey::~CipherKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

Result<CipherKey> CipherKey::from_base64(std::string_view text) {
  const std::string why = "is not the base64 of a 16, 24 or 32-byte AES key: ";
  if (text.empty()) return fail(why + "it is empty");
  if (text.size() > kMaxBase64Length) return fail(why + "it is longer than " + std::to_string(kMaxBase64Length));
  // EVP's decoder, unlike EVP_DecodeBlock, counts the padding out and skips line breaks, as Python's b64decode.
  const std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> decoder(EVP_ENCODE_CTX_new(),
                                                                                &EVP_ENCODE_CTX_free);
  if (decoder == nullptr) return fail("cannot decode the AES key: out of memory");
  WipedBuffer<kMaxBase64Length> decoded;
  EVP_DecodeInit(decoder.get());
  int size = 0;
  int tail = 0;
  if (EVP_DecodeUpdate(decoder.get(), decoded.bytes.data(), &size, reinterpret_cast<const unsigned char*>(text.data()),
                       static_cast<int>(text.size())) < 0 ||
      EVP_DecodeFinal(decoder.get(), decoded.bytes.data() + size, &tail) < 0) {
    return fail(why + "it is not valid base64");
  }
  size += tail;
  if (size != 16 && size != 24 && size != 32) {
    return fail(why + "it decodes to " + std::to_string(size) + " bytes");
  }
  CipherKey key;
  std::copy_n(decoded.bytes.begin(), size, key.bytes_.begin());
  key.size_ = static_cast<std::size_t>(size);
  return key;
}

bool CipherKey::operator==(const CipherKey& other) const {
  return size_ == other.size_ && CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), size_) == 0;
}

}  // namespace projectord::config
